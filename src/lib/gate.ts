// The central access gate, run for every request before any route: resolve the route policy
// (src/lib/route-policy.ts), authenticate as that policy demands, then count the request against
// the caller's rate limit. Routes get all of this without doing anything themselves.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../env';
import { enforceLimit, subjectFor } from '../ratelimit/middleware';
import { authenticateService, authenticateUser } from './auth';
import { ApiError } from './errors';
import { classifyRoute, UNMATCHED_POLICY, type RoutePolicy } from './route-policy';

/**
 * Does this request reach a route handler? Middleware registered with use() is method 'ALL';
 * route handlers (and their per-route validators) carry their HTTP method. Unmatched requests
 * answer 404 without demanding credentials — there is nothing to protect.
 */
function hasEndpoint(c: Context): boolean {
  return matchedRoutes(c).some((r) => r.method !== 'ALL');
}

export function routePolicy(c: Context<AppEnv>): RoutePolicy {
  let policy = c.get('routePolicy');
  if (!policy) {
    // c.req.path is the decoded path the router matched (so /%61dmin/x is classified as /admin/x).
    policy = hasEndpoint(c) ? classifyRoute(c.req.method, c.req.path) : UNMATCHED_POLICY;
    c.set('routePolicy', policy);
  }
  return policy;
}

/** Auth by route class. A failed attempt still counts against the client IP's anonymous limit. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const policy = routePolicy(c);
  const anonymousAllowed = policy.auth === 'optional_user' && c.req.header('authorization') === undefined;
  if (policy.auth !== 'none' && policy.auth !== 'self' && !anonymousAllowed) {
    try {
      if (policy.auth === 'service') await authenticateService(c);
      else await authenticateUser(c, { hot: policy.hot });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        await enforceLimit(c, subjectFor(c), UNMATCHED_POLICY.class, true);
      }
      throw err;
    }
  }
  await next();
};

/** One limiter decision per request: subject from the auth step, limit from the route class. */
export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const policy = routePolicy(c);
  // An anonymous caller of an optional-auth route is limited like any anonymous caller.
  const cls = policy.auth === 'optional_user' && !c.get('user') ? UNMATCHED_POLICY.class : policy.class;
  await enforceLimit(c, subjectFor(c), cls, policy.failOpen);
  await next();
};
