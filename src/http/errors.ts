// The one error shape every response uses:
//   {"error":{"code":"…","message":"…","request_id":"…", "details"?: …}}
// ApiError carries status and code; anything else thrown becomes a 500 with no stack trace.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { rootCause } from '../observability/logger';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const unauthorized = (message = 'authentication required') =>
  new ApiError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message = 'not allowed') => new ApiError(403, 'forbidden', message);
export const notFound = (message = 'not found') => new ApiError(404, 'not_found', message);
export const conflict = (message: string) => new ApiError(409, 'conflict', message);
export const payloadTooLarge = (limitBytes: number) => new ApiError(413, 'payload_too_large', `request body exceeds ${limitBytes} bytes`);
export const unsupportedMediaType = (expected: string) => new ApiError(415, 'unsupported_media_type', `content-type must be ${expected}`);
export const tooManyRequests = (retryAfterSec: number) =>
  new ApiError(429, 'rate_limited', 'too many requests', undefined, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSec))),
  });
export const serviceUnavailable = (message: string) => new ApiError(503, 'unavailable', message);

/** zod issues in a stable, client-friendly form: which field, what is wrong. */
export function zodIssues(error: z.ZodError): { path: string; message: string; code: string }[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
    code: i.code,
  }));
}

export function validationError(error: z.ZodError, where = 'request'): ApiError {
  const issues = zodIssues(error);
  const first = issues[0];
  return new ApiError(400, 'invalid_request', `invalid ${where}: ${first ? `${first.path}: ${first.message}` : 'malformed'}`, { issues });
}

export function errorBody(requestId: string, code: string, message: string, details?: unknown) {
  return { error: { code, message, request_id: requestId, ...(details === undefined ? {} : { details }) } };
}

export function errorResponse(c: Context, err: ApiError): Response {
  const requestId = (c.get('unit') as { id?: string } | undefined)?.id ?? 'unknown';
  const res = c.json(errorBody(requestId, err.code, err.message, err.details), err.status);
  for (const [k, v] of Object.entries(err.headers ?? {})) res.headers.set(k, v);
  return res;
}

/**
 * Connection-level database failures (no connection within the timeout, no answer within a unit's
 * query timeout, refused, dropped): the dependency is down, not the request wrong. The error
 * handler answers these 503, not 500; a queue batch takes its outage path.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  const err = rootCause(error);
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|Query read timeout|ECONNREFUSED|Network connection lost|WebSocket (?:was closed|connection)|Can't call WebSocket send/i.test(
    message,
  );
}
