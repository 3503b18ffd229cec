// Shared OpenAPI pieces: the error envelope's schema and the standard error responses a route can
// spread into its `responses` for statuses its declaration does not imply (409, 503, …).
import { z } from '@hono/zod-openapi';

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

export const errorContent = { 'application/json': { schema: ErrorSchema } };

/** An error response with the envelope: `{ 409: errorResponse('…') }`. */
export const errorDoc = (description: string) => ({ description, content: errorContent });

/** The standard error responses (most are implied by a route's declaration; see src/platform/route.ts). */
export const errorResponses = {
  400: errorDoc('Invalid input (the zod issues are in error.details.issues)'),
  409: errorDoc('Conflict with the current state'),
  503: errorDoc('A dependency is unavailable; retry'),
} as const;
