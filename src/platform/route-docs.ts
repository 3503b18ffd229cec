// What a route declaration (src/platform/route.ts) says in the OpenAPI document: the operation's
// stable operationId, its `security`, a tag, and every status the layers in front of the handler can
// answer with, in the error envelope. defineRoute() applies it to every route, so a new route is
// documented as exactly as the existing ones without anyone listing statuses by hand.
//
// Which layer answers what (src/app.ts has the order):
//   every route     400  a body on GET/HEAD, invalid UTF-8, JSON nested too deep, invalid params/query/body
//                   413  a body over the declared limit (any method: the guard reads every body)
//                   429  the limiter refused (Retry-After, RateLimit-Limit, RateLimit-Policy; per user or
//                        service role also RateLimit-Remaining / RateLimit-Reset)
//                   500  a bug (no internals leak)
//   not GET/HEAD    415  a body that is not JSON (or a form, where the route takes forms)
//   user, optional_user, service   401 (no / invalid credentials), 403 (the wrong kind of credentials)
//   needs Postgres  503  database unreachable (Retry-After); not hot routes unless declared otherwise
//   fail-closed     503  admin_write and job classes when the limiter cannot be reached
// A route's own `responses` win over these (GET /health documents its own 503 body, the dashboard its
// own 401 page); one that only describes an implied status keeps the envelope and headers
// (mergeResponses).
import { type RouteConfig, z } from '@hono/zod-openapi';
import { errorContent } from '../http/openapi';
import type { Access, RouteDeclaration } from './access';

export const SECURITY: Record<Access, RouteConfig['security']> = {
  public: [],
  user: [{ bearerJwt: [] }],
  optional_user: [{}, { bearerJwt: [] }],
  service: [{ serviceKey: [] }],
  dashboard: [{ serviceKey: [] }],
};

/**
 * The operationId of a route: method + path in camelCase, a path parameter read as "By<Name>"
 * (`GET /admin/users/{id}/export` → `getAdminUsersByIdExport`). Derived, never typed by hand, so it
 * changes only when the method or path does; test/worker/contract.test.ts pins the whole list, so a
 * rename is a deliberate edit there, not a silent break for generated clients.
 */
export function operationIdFor(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .flatMap((segment) => {
      const param = /^\{(.+)\}$/.exec(segment) ?? /^:(.+)$/.exec(segment);
      const parts = (param ? param[1]! : segment).split(/[^A-Za-z0-9]+/).filter(Boolean);
      return param ? ['By', ...parts] : parts;
    });
  const pascal = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return method.toLowerCase() + pascal;
}

/** A route without tags is filed under its first path segment past the API prefix. */
export function defaultTag(path: string): string {
  const segments = path.split('/').filter((s) => s && !/^(v\d+|functions|admin)$/.test(s) && !s.startsWith('{'));
  return segments[0] ?? 'default';
}

const seconds = (description: string) => z.int().min(0).openapi({ description });

/** Headers the rate limiter writes (src/ratelimit/middleware.ts rateLimitHeaders, tooManyRequests). */
const RATE_LIMIT_HEADERS = z.object({
  'Retry-After': seconds('Seconds to wait before retrying'),
  'RateLimit-Limit': z.int().min(0).openapi({ description: 'Requests allowed in the window of this limit class' }),
  'RateLimit-Policy': z.string().openapi({ description: 'The limit and its window in seconds, e.g. `120;w=60`' }),
  'RateLimit-Remaining': z
    .int()
    .min(0)
    .optional()
    .openapi({ description: 'Requests left in the window (sent for anonymous callers only when refused)' }),
  'RateLimit-Reset': seconds('Seconds until the window resets (users and the service role only)').optional(),
});

const RETRY_AFTER = z.object({
  'Retry-After': seconds('Seconds to wait before retrying (sent when the database is unreachable)').optional(),
});

const err = (description: string, headers?: z.ZodObject) => ({
  description,
  ...(headers ? { headers } : {}),
  content: errorContent,
});

const BODYLESS = new Set(['GET', 'HEAD']);

/** The error responses a declaration implies, unless the route documents its own. */
export function impliedResponses(route: RouteConfig, decl: RouteDeclaration): RouteConfig['responses'] {
  const out: RouteConfig['responses'] = {};
  const request = route.request;
  const bodyless = BODYLESS.has(route.method.toUpperCase());
  const reads = [request?.params && 'path parameters', request?.query && 'query', request?.body && 'body'].filter(Boolean);
  out[400] = err(
    `Invalid input: ${reads.length > 0 ? `${reads.join(', ')} failing validation (the zod issues are in error.details.issues), ` : ''}` +
      (bodyless ? 'a request body (this method takes none)' : 'a body that is not valid UTF-8 or is nested too deep'),
  );
  if (decl.access === 'user' || decl.access === 'optional_user' || decl.access === 'service') {
    out[401] = err(decl.access === 'optional_user' ? 'A token was sent and is invalid or expired' : 'Missing or invalid credentials');
    out[403] = err('Authenticated, but with the wrong kind of credentials');
  }
  out[413] = err(`Body over ${decl.maxBodyBytes} bytes`);
  if (!bodyless) out[415] = err(decl.forms ? 'Content-Type is not JSON or a form' : 'Content-Type is not application/json');
  out[429] = err(
    decl.access === 'public'
      ? 'Rate limited per client address (Retry-After: the limit period)'
      : 'Rate limited (Retry-After and the RateLimit-* headers state what the limiter decided)',
    RATE_LIMIT_HEADERS,
  );
  out[500] = err('Internal error (no details leak)');
  // Only callers with an identity meet the RateLimiter object; the dashboard authenticates itself,
  // so the gate limits it by address (the binding, which never fails closed).
  const limitedByObject = decl.access === 'user' || decl.access === 'optional_user' || decl.access === 'service';
  const unavailable = [
    decl.database && 'the database is unreachable',
    !decl.failOpen && limitedByObject && 'the rate limiter is unreachable (this class fails closed)',
  ];
  const why = unavailable.filter(Boolean);
  if (why.length > 0) {
    out[503] = err(`Unavailable, retry: ${why.join('; or ')}`, RETRY_AFTER);
  }
  return out;
}

/**
 * The route's own responses over the implied ones. A route that re-describes an implied status
 * without content (e.g. "503: the OPE read timed out") keeps the envelope schema and headers: the
 * answer is still the error envelope, and a description must not drop the contract.
 */
export function mergeResponses(implied: RouteConfig['responses'], own: RouteConfig['responses']): RouteConfig['responses'] {
  const out: RouteConfig['responses'] = { ...implied };
  for (const [status, response] of Object.entries(own)) {
    const base = implied[status];
    out[status] = base && typeof response === 'object' && !('content' in response) ? { ...base, ...response } : response;
  }
  return out;
}
