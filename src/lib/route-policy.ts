// Who may call a route, how often, and with how big a body — decided in ONE place from the path and
// method, so every route (including ones added later) gets auth, rate limits and input limits
// without its handler doing anything. First matching rule wins.
//
//   path                              method      class        auth     body limit
//   /functions/v1/health              any         anon         none     16 KiB
//   /functions/v1/policy-ranker       any         user (hot)   user JWT 64 KiB
//   /functions/v1/*                   any         job          service  64 KiB
//   /admin/dashboard[/*]              any         admin_*      its own (key or session cookie), forms
//   /admin/*                          GET/HEAD    admin_read   service  16 KiB
//   /admin/*                          other       admin_write  service  1 MiB
//   /v1/rank                          any         user (hot)   user JWT 64 KiB
//   /v1/flags                         any         user (hot)   optional 64 KiB   (anonymous: anon class, per IP)
//   /v1/*                             any         user         user JWT 64 KiB
//   everything else (/health, /docs…) any         anon         none     16 KiB
//
// "hot" routes must not wait for Postgres: the first-sight users upsert runs in the background.
// When the limiter Durable Object is unreachable, reads fail open and service writes fail closed.

export type RouteClass = 'anon' | 'user' | 'admin_read' | 'admin_write' | 'job';
export const ROUTE_CLASSES: readonly RouteClass[] = ['anon', 'user', 'admin_read', 'admin_write', 'job'];

export interface RoutePolicy {
  class: RouteClass;
  /**
   * optional_user: no Authorization header = anonymous (limited as anon); a header must be a valid JWT.
   * self: the route authenticates itself (the operator dashboard: service key or its session cookie).
   */
  auth: 'none' | 'user' | 'optional_user' | 'service' | 'self';
  /** HTML form posts (application/x-www-form-urlencoded) accepted besides JSON. */
  forms?: boolean;
  /** Largest accepted request body in bytes (413 above it). */
  maxBodyBytes: number;
  /** If the limiter is unreachable: true = serve anyway (logged), false = 503. */
  failOpen: boolean;
  /** Latency-critical route: never block on Postgres in the auth step. */
  hot: boolean;
}

const KiB = 1024;
const READ = new Set(['GET', 'HEAD', 'OPTIONS']);

const anon: RoutePolicy = { class: 'anon', auth: 'none', maxBodyBytes: 16 * KiB, failOpen: true, hot: false };
const user: RoutePolicy = { class: 'user', auth: 'user', maxBodyBytes: 64 * KiB, failOpen: true, hot: false };
const hotUser: RoutePolicy = { ...user, hot: true };
const job: RoutePolicy = { class: 'job', auth: 'service', maxBodyBytes: 64 * KiB, failOpen: false, hot: false };
const adminRead: RoutePolicy = { class: 'admin_read', auth: 'service', maxBodyBytes: 16 * KiB, failOpen: true, hot: false };
const adminWrite: RoutePolicy = { class: 'admin_write', auth: 'service', maxBodyBytes: 1024 * KiB, failOpen: false, hot: false };

/** Requests that match no route (404s, CORS preflights): anonymous, limited per client IP. */
export const UNMATCHED_POLICY: RoutePolicy = { ...anon };

const HOT_USER_PATHS = new Set(['/v1/rank', '/functions/v1/policy-ranker']);
// Flags are readable before sign-in (the abort switch): see src/handlers/flags.ts.
const optionalUser: RoutePolicy = { ...hotUser, auth: 'optional_user' };
const OPTIONAL_USER_PATHS = new Set(['/v1/flags']);

// The operator dashboard (src/handlers/dashboard.tsx) checks the service key OR its own signed
// session cookie, and its login/logout/action forms post urlencoded bodies.
const dashboardRead: RoutePolicy = { ...adminRead, auth: 'self', forms: true };
const dashboardWrite: RoutePolicy = { ...adminWrite, auth: 'self', forms: true, maxBodyBytes: 16 * KiB };

/** The policy of a request. Paths are matched case-sensitively, like Hono's router. */
export function classifyRoute(method: string, path: string): RoutePolicy {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (p === '/functions/v1/health') return anon;
  if (HOT_USER_PATHS.has(p)) return hotUser;
  if (OPTIONAL_USER_PATHS.has(p)) return optionalUser;
  if (p.startsWith('/functions/v1/')) return job;
  if (p === '/admin/dashboard' || p.startsWith('/admin/dashboard/')) return READ.has(method.toUpperCase()) ? dashboardRead : dashboardWrite;
  if (p === '/admin' || p.startsWith('/admin/')) return READ.has(method.toUpperCase()) ? adminRead : adminWrite;
  if (p.startsWith('/v1/')) return user;
  return anon;
}
