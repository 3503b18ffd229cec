// Who is calling: a user (Bearer JWT) or the service role (Bearer service key).
//
// User tokens: HS256 with AUTH_JWT_SECRET (and AUTH_JWT_SECRET_NEXT during a rotation), or
// RS256/ES256 against the identity provider's JWKS at AUTH_JWKS_URL (keys cached per isolate by
// jose; an unknown `kid` triggers one refetch, rate-limited by jose's cooldown). `exp` is required,
// `nbf`/`iss`/`aud` are checked when present/configured, `sub` must be a UUID. The algorithm is
// taken from an allow-list — never from the token alone — so `alg: none` or an HS256 token signed
// with a public key cannot pass.
//
// Service key: SERVICE_ROLE_KEY or SERVICE_ROLE_KEY_NEXT, compared in constant time.
// The gate's use of these (401/403) is in authenticate.ts.
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { type Config, getConfig } from '../config';
import type { AuthUser } from '../platform/app-env';
import { isUuid } from '../util/ids';

/** Tokens longer than this are rejected before any parsing (a JWT is typically < 2 KiB). */
const MAX_TOKEN_LENGTH = 8 * 1024;
const CLOCK_TOLERANCE_S = 30;
const ASYMMETRIC_ALGS = ['RS256', 'ES256'];

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const token = match?.[1];
  return token && token.length <= MAX_TOKEN_LENGTH ? token : undefined;
}

/** Constant-time string equality (the length check leaks only the length). */
export function timingSafeEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Which configured service key matches, if any. Both are compared, always, in constant time. */
export function matchServiceKey(env: Env, token: string): 'current' | 'next' | undefined {
  const config = getConfig(env);
  const current = timingSafeEqual(token, config.SERVICE_ROLE_KEY);
  const next = config.SERVICE_ROLE_KEY_NEXT ? timingSafeEqual(token, config.SERVICE_ROLE_KEY_NEXT) : false;
  return current ? 'current' : next ? 'next' : undefined;
}

// ---------------------------------------------------------------------------- JWT verification

export class TokenError extends Error {}
export const MALFORMED = 'malformed token';

/** One remote key set per JWKS URL per isolate: jose caches the keys (10 min) inside it. */
const jwksByUrl = new Map<string, JWTVerifyGetKey>();
function jwks(url: string): JWTVerifyGetKey {
  let set = jwksByUrl.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
    jwksByUrl.set(url, set);
  }
  return set;
}

const encoder = new TextEncoder();

function audiences(config: Config): string[] | undefined {
  const list = config.AUTH_AUDIENCE?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list && list.length > 0 ? list : undefined;
}

async function verifyWith(token: string, config: Config, alg: string): Promise<JWTPayload> {
  const options = {
    issuer: config.AUTH_ISSUER,
    audience: audiences(config),
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE_S,
  };
  if (alg === 'HS256') {
    const secrets = [config.AUTH_JWT_SECRET, config.AUTH_JWT_SECRET_NEXT].filter((s): s is string => !!s);
    if (secrets.length === 0) throw new TokenError('HS256 tokens are not accepted (no AUTH_JWT_SECRET)');
    let lastError: unknown;
    for (const secret of secrets) {
      try {
        return (await jwtVerify(token, encoder.encode(secret), { ...options, algorithms: ['HS256'] })).payload;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }
  if (ASYMMETRIC_ALGS.includes(alg)) {
    if (!config.AUTH_JWKS_URL) throw new TokenError(`${alg} tokens are not accepted (no AUTH_JWKS_URL)`);
    return (await jwtVerify(token, jwks(config.AUTH_JWKS_URL), { ...options, algorithms: ASYMMETRIC_ALGS })).payload;
  }
  throw new TokenError(`algorithm ${alg} is not accepted`);
}

/** Verify a user JWT; throws on anything invalid. Returns the user (sub, email, claims). */
export async function verifyUserToken(env: Env, token: string): Promise<AuthUser> {
  const config = getConfig(env);
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new TokenError(MALFORMED);
  }
  if (typeof alg !== 'string') throw new TokenError('token has no algorithm');
  const payload = await verifyWith(token, config, alg);
  if (!isUuid(payload.sub)) throw new TokenError('sub must be a UUID');
  return {
    id: payload.sub.toLowerCase(),
    email: typeof payload.email === 'string' ? payload.email : undefined,
    claims: payload as Record<string, unknown>,
  };
}
