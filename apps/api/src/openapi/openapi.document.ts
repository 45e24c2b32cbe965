import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';

import { registerBookingPaths } from './bookings.paths.ts';
import { registerCheckoutPaths } from './checkout.paths.ts';
import { SECURITY_SCHEMES } from './components.ts';
import { registerEventPaths } from './events.paths.ts';
import { registerListPaths } from './lists.paths.ts';
import { registerOperationPaths } from './operations.paths.ts';
import { registerWaitlistPaths } from './waitlist.paths.ts';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const DESCRIPTION = `Booking service for limited inventory. A booking request is accepted at once (\`202\`,
\`pending\`) and decided later by the event's worker, one at a time in the order of acceptance:
\`confirmed\` (a booking was created) or \`rejected\` (with a reason). Errors are
\`application/problem+json\` with a stable \`code\`.

Identity (\`AUTH_MODE\`): \`none\` (the body's \`userId\`, no ownership checks), \`jwt\` (the \`sub\` of a
bearer JWT) or \`header\` (a trusted gateway's header). With jwt or header, users see and change only
their own booking requests and bookings (anyone else's id answers \`404\`); the admin key sees any.`;

/** A registry holding every route and component of the public contract. */
export function createOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) {
    registry.registerComponent('securitySchemes', name, scheme);
  }
  registerEventPaths(registry);
  registerListPaths(registry);
  registerBookingPaths(registry);
  registerCheckoutPaths(registry);
  registerWaitlistPaths(registry);
  registerOperationPaths(registry);
  return registry;
}

/** Generates the OpenAPI 3.1 document from the registry's zod schemas. */
export function generateOpenApiDocument(registry: OpenAPIRegistry = createOpenApiRegistry()): OpenApiDocument {
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Booking service API', version: '1.0.0', description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    tags: [
      { name: 'Events', description: 'Events and their seats.' },
      { name: 'Bookings', description: 'Booking requests, their decisions, bookings and cancellations.' },
      { name: 'Operations', description: 'Health, readiness, metrics and this documentation.' },
      { name: 'Admin', description: 'For operators, with the admin key.' },
    ],
  });
}

let cached: OpenApiDocument | undefined;

/** The document, generated once per process. */
export function openApiDocument(): OpenApiDocument {
  cached ??= generateOpenApiDocument();
  return cached;
}
