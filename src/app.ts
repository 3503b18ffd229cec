// createApp(): the middleware order, the routes (one router per resource in src/handlers/, each
// route declaring its access with defineRoute), the error envelope and the OpenAPI document.
// Order: request unit (id, logger, db) → metrics → faults → headers → gate (route declaration →
// auth → rate limit) → CORS preflight → input guard → route.
import type { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConfigError } from './config';
import { adminDlqRoutes } from './handlers/admin-dlq';
import { adminFlagRoutes } from './handlers/admin-flags';
import { adminOpsRoutes } from './handlers/admin-ops';
import { adminRewardRangeRoutes } from './handlers/admin-reward-ranges';
import { adminSurfaceCandidateRoutes } from './handlers/admin-surface-candidates';
import { dashboardRoutes } from './handlers/dashboard';
import { discoveryJobRoutes } from './handlers/discovery-jobs';
import { DocsPage } from './handlers/docs-page';
import { flagRoutes } from './handlers/flags';
import { healthRoutes } from './handlers/health';
import { meRoutes } from './handlers/me';
import { policyRoutes } from './handlers/policy';
import { privacyRoutes } from './handlers/privacy';
import { privacyExportRoutes } from './handlers/privacy-export';
import { rankRoutes } from './handlers/rank';
import { rateLimitRoutes } from './handlers/rate-limits';
import { rewardRoutes } from './handlers/rewards';
import { sloRoutes } from './handlers/slo';
import { ApiError, errorResponse, isDatabaseUnreachable, notFound } from './http/errors';
import { authenticate, rateLimit, resolveRoute } from './http/gate';
import { inputGuard } from './http/input-guard';
import { requestUnit } from './http/request-unit';
import { corsPreflight, securityHeaders } from './http/security-headers';
import { faultInjection } from './observability/fault-injection';
import { errorFields } from './observability/logger';
import { requestMetrics } from './observability/middleware';
import type { AppEnv } from './platform/app-env';
import { createRouter, declareRoute, mountRoutes, type RouteDeclaration, type Router } from './platform/route';
import { rateLimitHeaders } from './ratelimit/middleware';
import { APP_VERSION } from './version';

/** Every resource of the API. A new route goes into its resource's file; a new resource, here. */
export const RESOURCES: readonly Router[] = [
  healthRoutes,
  rateLimitRoutes,
  flagRoutes,
  adminFlagRoutes,
  meRoutes,
  discoveryJobRoutes,
  adminDlqRoutes,
  sloRoutes,
  dashboardRoutes,
  rankRoutes,
  rewardRoutes,
  adminRewardRangeRoutes,
  adminSurfaceCandidateRoutes,
  policyRoutes,
  adminOpsRoutes,
  privacyRoutes,
  privacyExportRoutes,
];

const HTTP_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Edge discovery & ranking API',
    version: APP_VERSION,
    description:
      'Personalised discovery and ranking at the edge. User routes take `Authorization: Bearer <JWT>`; ' +
      'admin and job routes take `Authorization: Bearer <service key>`. Errors always use the envelope ' +
      '`{"error":{"code","message","request_id"}}`.',
  },
  // The deployments of wrangler.toml. Staging and production are its [env.*] worker names on
  // workers.dev: the account subdomain is a variable (placeholder default) until a route or custom
  // domain is configured there.
  servers: [
    { url: 'http://127.0.0.1:8787', description: 'Local stack (`npm run dev`)' },
    ...(['staging', 'production'] as const).map((name) => ({
      url: `https://edge-discovery-${name}.{account}.workers.dev`,
      description: `${name[0]!.toUpperCase()}${name.slice(1)} (wrangler env ${name}; worker edge-discovery-${name})`,
      variables: { account: { default: 'your-account', description: "The Cloudflare account's workers.dev subdomain" } },
    })),
  ],
};

export function createApp(resources: readonly Router[] = RESOURCES): OpenAPIHono<AppEnv> {
  const app = createRouter();
  // The gate's table of route declarations, filled once every route is mounted (below).
  const declarations = new Map<string, RouteDeclaration>();

  app.use('*', requestUnit);
  app.use('*', requestMetrics); // times every request by operation; ships histograms via EVENTS
  app.use('*', faultInjection); // test-only latency/5xx hook; off unless APP_ENV=development + key

  // Hardening and access, in this order (outer steps see every response, errors included):
  app.use('*', securityHeaders); //  security headers + CORS allow-list headers on every response
  app.use('*', rateLimitHeaders); // RateLimit-* headers from the decision below, on every response
  app.use('*', resolveRoute(declarations)); // the matched route's declaration (src/platform/route.ts)
  app.use('*', authenticate); //     by declaration: user JWT / service key / none (401, 403)
  app.use('*', rateLimit); //        the subject's limiter decides (429 + Retry-After); src/ratelimit/middleware.ts
  app.use('*', corsPreflight); //    OPTIONS preflights for allowed origins (403 otherwise)
  app.use('*', inputGuard); //       body size (413), content type (415), UTF-8 and JSON depth (400)

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerJwt', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A user's JWT (sub = user UUID)",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'serviceKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'The service role key (SERVICE_ROLE_KEY or SERVICE_ROLE_KEY_NEXT)',
  });
  declareRoute(app, 'GET', '/openapi.json', { access: 'public' });
  app.doc31('/openapi.json', OPENAPI_INFO);
  declareRoute(app, 'GET', '/docs', { access: 'public' });
  app.get('/docs', (c) => c.html(DocsPage({ doc: app.getOpenAPI31Document(OPENAPI_INFO) }) as string));

  for (const [key, decl] of mountRoutes(app, resources)) declarations.set(key, decl);

  app.notFound((c) => errorResponse(c, notFound(`no route for ${c.req.method} ${c.req.path}`)));

  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      const message = status === 400 && /JSON/i.test(err.message) ? 'malformed JSON body' : err.message || 'request failed';
      return errorResponse(c, new ApiError(status, HTTP_CODES[status] ?? 'error', message));
    }
    const log = c.get('unit')?.log;
    if (err instanceof ConfigError) {
      log?.error('config.invalid', { keys: err.keys });
      return errorResponse(c, new ApiError(500, 'misconfigured', 'the service is misconfigured'));
    }
    if (isDatabaseUnreachable(err)) {
      // Not a bug in this request: the database could not be reached. Retryable, so say so.
      log?.error('db.unavailable', { ...errorFields(err), operation: c.req.path });
      return errorResponse(c, new ApiError(503, 'unavailable', 'database unavailable; retry shortly', undefined, { 'Retry-After': '1' }));
    }
    log?.error('unhandled_error', { ...errorFields(err), operation: c.req.path });
    return errorResponse(c, new ApiError(500, 'internal', 'internal error'));
  });

  return app;
}
