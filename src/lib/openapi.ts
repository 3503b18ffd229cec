// Shared OpenAPI pieces: the router factory every resource uses (its validation errors become the
// error envelope), the error schema, and the security schemes.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { errorResponse, validationError } from './errors';
import { strictify } from './strict-body';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_request' }),
      message: z.string().openapi({ example: 'invalid body: limit: Too big' }),
      request_id: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

const errorContent = { 'application/json': { schema: ErrorSchema } };

/** Standard error responses to spread into a route's `responses`. */
export const errorResponses = {
  400: { description: 'Invalid input (the zod issues are in error.details.issues)', content: errorContent },
  401: { description: 'Missing or invalid credentials', content: errorContent },
  403: { description: 'Authenticated but not allowed', content: errorContent },
  429: { description: 'Rate limited (see Retry-After)', content: errorContent },
  500: { description: 'Internal error (no details leak)', content: errorContent },
} as const;

export const userSecurity = [{ bearerJwt: [] }];
export const serviceSecurity = [{ serviceKey: [] }];

/**
 * A sub-app whose request validation failures answer with the 400 error envelope, and whose JSON
 * bodies are validated strictly (unknown fields → 400; the rule is stated in src/lib/strict-body.ts).
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, validationError(result.error as z.ZodError, result.target));
      }
    },
  });
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

type AnyRoute = Parameters<OpenAPIHono<AppEnv>['openapi']>[0];

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
