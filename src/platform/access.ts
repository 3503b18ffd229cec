// A route's access declaration: who may call it and which limit it spends. defineRoute()
// (src/platform/route.ts) records one per route; the gate (src/http/gate.ts) reads the matched
// route's declaration for every request. Defaults by access and method are in the table of route.ts.
export type Access = 'public' | 'user' | 'optional_user' | 'service' | 'dashboard';
// 'reward' is POST /v1/rewards alone (per user): a reward moves shared statistics, so it has its
// own budget, apart from ranking and the user's other calls.
export type LimitClass = 'anon' | 'user' | 'reward' | 'admin_read' | 'admin_write' | 'job';
export const LIMIT_CLASSES: readonly LimitClass[] = ['anon', 'user', 'reward', 'admin_read', 'admin_write', 'job'];

export interface AccessOptions {
  access: Access;
  /** Which rate limit the call spends (default from access and method, table above). */
  limitClass?: LimitClass;
  /** Latency-critical: never block on Postgres in the auth step. */
  hot?: boolean;
  /** Largest accepted request body in bytes (413 above it); default by limit class. */
  maxBodyBytes?: number;
  /** HTML form posts (application/x-www-form-urlencoded) accepted besides JSON. */
  forms?: boolean;
  /**
   * The route needs Postgres, so it can answer 503 when the database is unreachable (documented in
   * its OpenAPI responses). Default: true unless `hot` (hot routes never wait for Postgres).
   */
  database?: boolean;
}

/** What the gate needs to know about the route a request matched. */
export interface RouteDeclaration {
  access: Access;
  limitClass: LimitClass;
  hot: boolean;
  maxBodyBytes: number;
  /**
   * If the limiter is unreachable: true = the per-isolate fallback limiter decides (a tenth of the
   * limit per isolate, never unlimited; src/ratelimit/fallback.ts), false = 503.
   */
  failOpen: boolean;
  forms: boolean;
  database: boolean;
}

const KiB = 1024;
const CLASS_DEFAULTS: Record<LimitClass, { maxBodyBytes: number; failOpen: boolean }> = {
  anon: { maxBodyBytes: 16 * KiB, failOpen: true },
  user: { maxBodyBytes: 64 * KiB, failOpen: true },
  reward: { maxBodyBytes: 4 * KiB, failOpen: true },
  admin_read: { maxBodyBytes: 16 * KiB, failOpen: true },
  admin_write: { maxBodyBytes: 1024 * KiB, failOpen: false },
  job: { maxBodyBytes: 64 * KiB, failOpen: false },
};

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function defaultLimitClass(access: Access, method: string): LimitClass {
  switch (access) {
    case 'public':
      return 'anon';
    case 'user':
    case 'optional_user':
      return 'user';
    case 'service':
    case 'dashboard':
      return READ_METHODS.has(method.toUpperCase()) ? 'admin_read' : 'admin_write';
  }
}

export function declaration(method: string, opts: AccessOptions): RouteDeclaration {
  const limitClass = opts.limitClass ?? defaultLimitClass(opts.access, method);
  const defaults = CLASS_DEFAULTS[limitClass];
  return {
    access: opts.access,
    limitClass,
    hot: opts.hot ?? false,
    maxBodyBytes: opts.maxBodyBytes ?? defaults.maxBodyBytes,
    failOpen: defaults.failOpen,
    forms: opts.forms ?? false,
    database: opts.database ?? !(opts.hot ?? false),
  };
}

/** Requests that match no route (404s, CORS preflights): anonymous, limited per client IP. */
export const UNMATCHED_ROUTE: RouteDeclaration = Object.freeze(declaration('GET', { access: 'public' }));

/** The key of a route in the declaration table: method and Hono path template (/a/:id). */
export const routeKey = (method: string, honoPath: string): string => `${method.toUpperCase()} ${honoPath}`;
export const honoPath = (openApiPath: string): string => openApiPath.replace(/\{([^}]+)\}/g, ':$1');
