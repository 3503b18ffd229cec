// Response hardening on every response (errors included) and CORS for configured origins only.
//
// CORS: CORS_ORIGINS lists exact origins. An allowed Origin gets Access-Control-Allow-Origin
// (echoed, with Vary: Origin) on every response — also 401/429 — so browser clients can read the
// error envelope. Preflights (OPTIONS + Access-Control-Request-Method) are answered 204 for
// allowed origins and 403 with the envelope otherwise. No cookies are used, so no credentials mode.
import type { Context, MiddlewareHandler } from 'hono';
import { parseOrigins } from '../config';
import type { AppEnv } from '../platform/app-env';
import { forbidden } from './errors';

const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
// /docs is server-rendered HTML with an inline <style>; nothing else may load.
const DOCS_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
// The operator dashboard: its inline refresh script and its same-origin forms.
const DASHBOARD_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STATIC_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-site',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  'X-Permitted-Cross-Domain-Policies': 'none',
};

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
// cloudflare-workers-version-key: browser clients send it (the user id) so a gradual deployment
// keeps each user on one version (version affinity; Cloudflare reads it before the Worker runs).
const ALLOW_HEADERS = 'authorization, content-type, x-request-id, cloudflare-workers-version-key';
const EXPOSE_HEADERS =
  'x-request-id, x-worker-version, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, ratelimit-policy';
const PREFLIGHT_MAX_AGE = '600';

/** Parsed per env object (secrets do not change within an isolate's env). Malformed → none allowed. */
const originsCache = new WeakMap<object, Set<string>>();
function allowedOrigins(env: Env): Set<string> {
  let set = originsCache.get(env);
  if (!set) {
    set = new Set(parseOrigins(env.CORS_ORIGINS) ?? []);
    originsCache.set(env, set);
  }
  return set;
}

function allowedOrigin(c: Context<AppEnv>): string | undefined {
  const origin = c.req.header('origin');
  return origin && allowedOrigins(c.env).has(origin) ? origin : undefined;
}

/** Outermost hardening step: sets its headers after everything else has produced the response. */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const h = c.res.headers;
  for (const [k, v] of Object.entries(STATIC_HEADERS)) h.set(k, v);
  const isHtml = (h.get('content-type') ?? '').startsWith('text/html');
  // A route that sets its own policy keeps it.
  if (!h.has('Content-Security-Policy')) {
    const dashboard = c.req.path.startsWith('/admin/dashboard');
    h.set('Content-Security-Policy', !isHtml ? API_CSP : dashboard ? DASHBOARD_CSP : DOCS_CSP);
  }
  // Anything answered to a credentialed caller must not be stored by shared caches.
  if (c.req.header('authorization') && !h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  h.delete('X-Powered-By');
  const origin = allowedOrigin(c);
  h.append('Vary', 'Origin');
  if (origin) {
    h.set('Access-Control-Allow-Origin', origin);
    h.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
  }
};

/** Answers CORS preflights (after the rate limit, so they are counted like any request). */
export const corsPreflight: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== 'OPTIONS' || !c.req.header('access-control-request-method')) return next();
  if (!allowedOrigin(c)) throw forbidden('origin not allowed');
  c.header('Access-Control-Allow-Methods', ALLOW_METHODS);
  c.header('Access-Control-Allow-Headers', ALLOW_HEADERS);
  c.header('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
  return c.body(null, 204);
};
