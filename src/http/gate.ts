// The central access gate, run for every request before any route: find the matched route's
// declaration (src/platform/route.ts), authenticate as it demands, then count the request against
// the caller's rate limit. Routes get all of this by declaring their access; nothing else.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { authenticateService, authenticateUser } from '../auth/authenticate';
import type { AppEnv } from '../platform/app-env';
import { type RouteDeclaration, routeKey, UNMATCHED_ROUTE } from '../platform/route';
import { enforceLimit, subjectFor } from '../ratelimit/middleware';
import { ApiError } from './errors';

/**
 * The declaration of the route this request reaches. Middleware registered with use() is method
 * 'ALL'; a route handler carries its HTTP method. Unmatched requests answer 404 without demanding
 * credentials (there is nothing to protect) and are limited like anonymous callers.
 */
function matchedDeclaration(c: Context<AppEnv>, table: ReadonlyMap<string, RouteDeclaration>): RouteDeclaration {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method === 'ALL') continue;
    return table.get(routeKey(r.method, r.path)) ?? UNMATCHED_ROUTE;
  }
  return UNMATCHED_ROUTE;
}

/** Sets c.var.route for the gate and the input guard. */
export function resolveRoute(table: ReadonlyMap<string, RouteDeclaration>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('route', matchedDeclaration(c, table));
    await next();
  };
}

export const routeOf = (c: Context<AppEnv>): RouteDeclaration => c.get('route') ?? UNMATCHED_ROUTE;

/** Auth by declaration. A failed attempt still counts against the client IP's anonymous limit. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const route = routeOf(c);
  const anonymousAllowed = route.access === 'optional_user' && c.req.header('authorization') === undefined;
  if (route.access !== 'public' && route.access !== 'dashboard' && !anonymousAllowed) {
    try {
      if (route.access === 'service') await authenticateService(c);
      else await authenticateUser(c, { hot: route.hot });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        await enforceLimit(c, subjectFor(c), UNMATCHED_ROUTE.limitClass, true);
      }
      throw err;
    }
  }
  await next();
};

/** One limiter decision per request: subject from the auth step, limit from the declaration. */
export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const route = routeOf(c);
  // An anonymous caller of an optional-auth route is limited like any anonymous caller.
  const limitClass = route.access === 'optional_user' && !c.get('user') ? UNMATCHED_ROUTE.limitClass : route.limitClass;
  await enforceLimit(c, subjectFor(c), limitClass, route.failOpen);
  await next();
};
