// Hono's environment: the Worker bindings plus per-request variables set by middleware.
import type { Logger } from './observability/logger';
import type { Db } from './db/client';
import type { MetricsCollector } from './observability/metrics';
import type { RoutePolicy } from './lib/route-policy';
import type { RateLimitState } from './ratelimit/middleware';

export interface AuthUser {
  id: string;
  email?: string;
  claims: Record<string, unknown>;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    /** Database handle for this request, created on first use and closed after the response. */
    db: () => Db;
    /** Set by the user auth middleware. */
    user?: AuthUser;
    /** Set by the service-key auth middleware. */
    service?: { key: 'current' | 'next' };
    /** Operation name used by metrics and logs (route template unless a handler names it). */
    operation?: string;
    /** Request metrics (latency histograms); named kernel operations report here too. */
    metrics: MetricsCollector;
    /** Route class, auth and input limits of this request (src/lib/route-policy.ts). */
    routePolicy?: RoutePolicy;
    /** The rate-limit decision, written to the RateLimit-* response headers. */
    rateLimit?: RateLimitState;
  };
};
