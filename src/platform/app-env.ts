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
  /** Absent when the decider cannot say exactly (the native binding for anonymous callers). */
  remaining?: number;
  /** Seconds until the window has room again; absent like `remaining`. */
  resetSec?: number;
  /** On a refusal: the Retry-After seconds. */
  retryAfterSec?: number;
  windowSec: number;
  /** Who decided: the subject's object (default), the native binding, or the per-isolate fallback. */
  source?: 'object' | 'binding' | 'fallback';
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
