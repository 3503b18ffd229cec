// A route declares who may call it and what it costs, next to its handler:
//
//   defineRoute(router, { method: 'post', path: '/v1/rewards', access: 'user', …openapi fields }, handler)
//
// The declaration is the one source for three things that used to live apart: the central gate's
// auth and rate-limit decision (src/http/gate.ts reads the matched route's declaration), the
// OpenAPI operation's `security`, operationId, tag and documented error statuses (the rules are in
// ./route-docs.ts). A route registered any other way has no declaration, and mountRoutes() refuses
// to mount it.
//
//   access         who                                          default limit class   body limit
//   public         anyone                                       anon                  16 KiB
//   user           a user JWT                                   user                  64 KiB
//   optional_user  anonymous, or a valid JWT if one is sent     user (anon if none)   64 KiB
//   service        the service key                              admin_read (GET/HEAD) 16 KiB
//                                                               admin_write (others)  1 MiB
//   dashboard      the route authenticates itself (service key or the dashboard's session cookie)
//
// Set explicitly: limitClass 'job' (/functions/v1/* job triggers, 64 KiB) and 'reward' (POST
// /v1/rewards, per user, 4 KiB).
//
// `hot` routes never wait for Postgres in the auth step (the first-sight user upsert is skipped).
// When the limiter is unreachable, anon/user/reward/admin_read requests are decided by the per-isolate
// fallback limiter (counted as 'ratelimit.fallback'); admin_write and job requests fail closed with 503.
import { createRoute, OpenAPIHono, type RouteConfig, type RouteHandler, type RouteHook, z } from '@hono/zod-openapi';
import { errorResponse, validationError } from '../http/errors';
import { strictify } from '../http/strict-body';
import { type AccessOptions, declaration, honoPath, type RouteDeclaration, routeKey } from './access';
import type { AppEnv } from './app-env';
import { defaultTag, impliedResponses, mergeResponses, operationIdFor, SECURITY } from './route-docs';

export * from './access';

// ------------------------------------------------------------------------------------ routers

export type Router = OpenAPIHono<AppEnv>;

/** Per router: the declaration of every route it holds. */
const tables = new WeakMap<Router, Map<string, RouteDeclaration>>();

/** Per router: route key → operationId (two routes may not share one; mountRoutes checks). */
const operationIds = new WeakMap<Router, Map<string, string>>();

function idsOf(router: Router): Map<string, string> {
  let ids = operationIds.get(router);
  if (!ids) {
    ids = new Map();
    operationIds.set(router, ids);
  }
  return ids;
}

function tableOf(router: Router): Map<string, RouteDeclaration> {
  let table = tables.get(router);
  if (!table) {
    table = new Map();
    tables.set(router, table);
  }
  return table;
}

type AnyRoute = Parameters<Router['openapi']>[0];

/**
 * A resource's router: request validation failures answer with the 400 error envelope, and JSON
 * bodies are validated strictly (unknown fields → 400; the rule is in src/http/strict-body.ts).
 */
export function createRouter(): Router {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return errorResponse(c, validationError(result.error as z.ZodError, result.target));
    },
  });
  tableOf(app);
  const register = app.openapi;
  app.openapi = ((route, handler, hook) => {
    const strict = strictRoute(route);
    if (strict === route) return register(route, handler, hook);
    // Document the route as written; validate with the strict copy.
    if (!route.hide) {
      const { middleware: _middleware, hide: _hide, ...documented } = route;
      app.openAPIRegistry.registerPath(documented);
    }
    return register({ ...strict, hide: true }, handler, hook);
  }) as typeof app.openapi;
  return app;
}

function strictRoute<R extends AnyRoute>(route: R): R {
  const content = route.request?.body?.content as Record<string, { schema?: unknown }> | undefined;
  if (!content) return route;
  let changed = false;
  const strictContent: Record<string, unknown> = {};
  for (const [mediaType, media] of Object.entries(content)) {
    const schema = media?.schema;
    const strict = schema instanceof z.ZodType ? strictify(schema) : schema;
    if (strict !== schema) changed = true;
    strictContent[mediaType] = { ...media, schema: strict };
  }
  if (!changed) return route;
  return { ...route, request: { ...route.request, body: { ...route.request!.body!, content: strictContent } } } as R;
}

// ------------------------------------------------------------------------------- declaring

/**
 * Register an OpenAPI route with its access declaration. The declaration's fields are taken out of
 * the route config (they are not OpenAPI), `security` and the implied error responses are added.
 */
export function defineRoute<R extends RouteConfig>(
  router: Router,
  config: R & AccessOptions,
  handler: RouteHandler<R, AppEnv>,
  hook?: RouteHook<R, AppEnv>,
): void {
  const { access, limitClass, hot, maxBodyBytes, forms, database, ...route } = config;
  const decl = declaration(route.method, { access, limitClass, hot, maxBodyBytes, forms, database });
  const documented = {
    ...route,
    operationId: route.operationId ?? operationIdFor(route.method, route.path),
    tags: route.tags ?? [defaultTag(route.path)],
    // A self-authenticating route (access 'dashboard') may state its own, e.g. [] for a login form.
    security: route.security ?? SECURITY[access],
    responses: mergeResponses(impliedResponses(route as RouteConfig, decl), route.responses),
  } as unknown as R;
  tableOf(router).set(routeKey(route.method, honoPath(route.path)), decl);
  idsOf(router).set(routeKey(route.method, honoPath(route.path)), documented.operationId!);
  // biome-ignore lint/suspicious/noExplicitAny: the handler's type is checked at the call site
  router.openapi(createRoute(documented), handler as any, hook as any);
}

/** Declare a route registered without OpenAPI (the document itself, the docs page). */
export function declareRoute(router: Router, method: string, path: string, opts: AccessOptions): void {
  tableOf(router).set(routeKey(method, honoPath(path)), declaration(method, opts));
}

export class UndeclaredRouteError extends Error {}
/** Generated clients name methods by operationId: two operations may not share one. */
export class DuplicateOperationIdError extends Error {}

/**
 * Mount resources on the app and return the declaration table the gate reads. Throws when any
 * route has no declaration: a route cannot reach production without saying who may call it.
 */
export function mountRoutes(app: Router, routers: readonly Router[]): ReadonlyMap<string, RouteDeclaration> {
  const all = new Map(tableOf(app));
  const owners = new Map<string, string>(); // operationId → route key
  for (const router of routers) {
    for (const [key, decl] of tableOf(router)) all.set(key, decl);
    for (const [key, id] of idsOf(router)) {
      const owner = owners.get(id);
      if (owner !== undefined && owner !== key) throw new DuplicateOperationIdError(`operationId ${id} names both ${owner} and ${key}`);
      owners.set(id, key);
    }
    app.route('/', router);
  }
  for (const r of app.routes) {
    if (r.method === 'ALL') continue; // middleware
    if (!all.has(routeKey(r.method, r.path))) {
      throw new UndeclaredRouteError(`route ${r.method} ${r.path} has no access declaration (use defineRoute)`);
    }
  }
  for (const [key, decl] of all) tableOf(app).set(key, decl);
  return all;
}

/** Every declaration of a mounted app (tests, tools): key `METHOD /hono/:template` → declaration. */
export function routeDeclarations(app: Router): ReadonlyMap<string, RouteDeclaration> {
  return tableOf(app);
}
