// Hono's environment: the Worker bindings plus the per-request variables the middleware sets.
import type { RouteDeclaration } from './access';
import type { Unit } from './unit';

export interface AuthUser {
  id: string;
  email?: string;
  claims: Record<string, unknown>;
}

/** The rate-limit decision of this request, written to the RateLimit-* response headers. */
export interface RateLimitState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window has room again. */
  resetSec: number;
  windowSec: number;
  /** true when the limiter was unreachable and the request was served uncounted. */
  degraded?: boolean;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** This request's unit of work: id, logger, lazy database handle, waitUntil, metrics. */
    unit: Unit;
    /** Set by the gate for user routes (and optional-user routes called with a token). */
    user?: AuthUser;
    /** Set by the gate for service routes. */
    service?: { key: 'current' | 'next' };
    /** Operation name used by metrics and logs (route template unless a handler names it). */
    operation?: string;
    /** The matched route's access declaration (src/platform/route.ts), resolved by the gate. */
    route?: RouteDeclaration;
    rateLimit?: RateLimitState;
  };
};
