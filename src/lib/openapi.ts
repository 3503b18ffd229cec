// Shared OpenAPI pieces: the router factory every resource uses (its validation errors become the
// error envelope), the error schema, and the security schemes.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../env';
import { errorResponse, validationError } from './errors';

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

/** A sub-app whose request validation failures answer with the 400 error envelope. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return errorResponse(c, validationError(result.error as z.ZodError, result.target));
      }
    },
  });
}
