import { z } from 'zod';

/**
 * The secret `npm run token` signs development tokens with, and what `AUTH_MODE=jwt` verifies with
 * when neither `AUTH_JWT_SECRET` nor `AUTH_JWKS_URL` is set. Public by nature: refused in production.
 */
export const DEV_JWT_SECRET = 'booking-service-development-secret-do-not-deploy';

/** Admin keys that are samples from this repository's files or obvious stand-ins, refused in production. */
const PLACEHOLDER_ADMIN_KEY = /change[-_ ]?me|replace[-_ ]?me|placeholder|example|dummy|default|^(.)\1*$/i;

/** Whether `key` is a known placeholder (the sample in infra/k8s/secret.yaml, "change-me", ...). */
export function isPlaceholderAdminKey(key: string): boolean {
  return PLACEHOLDER_ADMIN_KEY.test(key);
}

const httpUrl = z.string().refine((v) => {
  try {
    return /^https?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** Variables of identity and per-client limits (API and single-process server). */
export const identityFields = z.object({
  /** Who the user is: `none` (the body's userId), `jwt` (a bearer token's `sub`), `header` (a gateway's header). */
  AUTH_MODE: z.enum(['none', 'jwt', 'header']).optional(),
  /** HS256 secret of `jwt` mode (32+ characters). */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Where `jwt` mode fetches the public keys (RS256, ES256, EdDSA) from. */
  AUTH_JWKS_URL: httpUrl.optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  /** The header a trusted gateway puts the user id in (`header` mode). */
  AUTH_USER_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a header name (letters, digits, -)')
    .default('X-User-Id'),
  /**
   * New booking requests one client address may send per event and RATE_LIMIT_WINDOW_SECONDS. Lenient
   * by default (2,000/s in the default window): many users can share one address (a carrier's NAT, a
   * company proxy, a load test on one machine), and turning them away is a false "no" at a sale's
   * peak. Lower it where clients have addresses of their own.
   */
  RATE_LIMIT_IP_POINTS: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
  /** How many proxies in front of the API to trust for the client address (X-Forwarded-For hops). */
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  /** Long-polls (and `Prefer: wait`) one user may hold at once on one process. */
  LONG_POLL_MAX_PER_USER: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Long-polls one process holds at once. */
  LONG_POLL_MAX_PER_PROCESS: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  /** Failed admin-key attempts one client address may make per minute. */
  ADMIN_AUTH_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(10),
});

type IdentityInput = z.output<typeof identityFields> & { NODE_ENV: string; ADMIN_API_KEY?: string | undefined };

/** The rules between identity variables, and those production adds. */
export function identityRules(env: IdentityInput, ctx: z.RefinementCtx): void {
  const production = env.NODE_ENV === 'production';
  const issue = (name: string, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
  if (production && env.AUTH_MODE === undefined) {
    issue('AUTH_MODE', 'is required when NODE_ENV=production (none, jwt or header)');
  }
  if (production && env.ADMIN_API_KEY !== undefined && isPlaceholderAdminKey(env.ADMIN_API_KEY)) {
    issue('ADMIN_API_KEY', 'is a placeholder; set a random key, e.g. `openssl rand -hex 24`');
  }
  if (env.AUTH_JWT_SECRET !== undefined && env.AUTH_JWKS_URL !== undefined) {
    issue('AUTH_JWKS_URL', 'set either AUTH_JWT_SECRET or AUTH_JWKS_URL, not both');
  }
  if (production && env.AUTH_MODE === 'jwt' && env.AUTH_JWT_SECRET === undefined && env.AUTH_JWKS_URL === undefined) {
    issue('AUTH_JWT_SECRET', 'AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL when NODE_ENV=production');
  }
  if (production && env.AUTH_JWT_SECRET === DEV_JWT_SECRET) {
    issue('AUTH_JWT_SECRET', 'is the development secret, refused when NODE_ENV=production');
  }
}

/** The AUTH_MODE in force: the configured one, `none` when unset (outside production). */
export function authModeOf(env: { AUTH_MODE?: 'none' | 'jwt' | 'header' | undefined }): 'none' | 'jwt' | 'header' {
  return env.AUTH_MODE ?? 'none';
}
