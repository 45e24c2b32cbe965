import type { Server } from 'node:http';

/** One thing an Express app serves: a route (`GET /v1/events/:eventId`) or a mounted handler (`*`). */
export interface ServedRoute {
  method: string;
  /** Express's path pattern, e.g. `/v1/events/:eventId`. */
  path: string;
}

// The parts of Express 5's router (router@2) that the walk reads.
interface Layer {
  rawPath?: unknown;
  slash?: boolean;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: Layer[]; set?: unknown };
}

/** The Express app that answers a running server's requests. */
export function expressAppOf(server: Server): { router: { stack: Layer[] } } {
  const listener = server.listeners('request')[0] as unknown as { app?: unknown; router?: unknown };
  // The server may put a front before the Express app (the fast long-poll path): the app is behind it.
  const app = (listener?.router ? listener : listener?.app) as { router?: { stack: Layer[] } } | undefined;
  if (!app?.router) throw new Error('the server has no Express app');
  return app as { router: { stack: Layer[] } };
}

/**
 * Every route of the app, found by walking its router stack (nested routers included). Handlers
 * mounted at a path (another app, a static directory) are listed once with method `*`.
 */
export function servedRoutes(server: Server): ServedRoute[] {
  const found = new Map<string, ServedRoute>();
  const add = (method: string, path: string) => found.set(`${method} ${path}`, { method, path });
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const mount = layer.slash || layer.rawPath === '/' ? '' : layer.rawPath;
      if (layer.route) {
        if (typeof layer.route.path !== 'string') throw new Error(`route with a non-string path: ${String(layer.route.path)}`);
        for (const method of Object.keys(layer.route.methods)) {
          if (method !== '_all') add(method.toUpperCase(), prefix + layer.route.path);
        }
      } else if (typeof mount !== 'string') {
        throw new Error(`middleware mounted at a non-string path: ${String(mount)}`);
      } else if (Array.isArray(layer.handle.stack) && layer.handle.set === undefined) {
        // A Router (an Express app, which has `set`, is a mounted handler of its own).
        walk(layer.handle.stack, prefix + mount);
      } else if (mount !== '') {
        add('*', prefix + mount);
      }
    }
  };
  walk(expressAppOf(server).router.stack, '');
  return [...found.values()];
}

/** `/v1/events/:eventId` as OpenAPI writes it: `/v1/events/{eventId}`. */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
