// Who is calling: a user (Bearer JWT) or the service role (Bearer service key).
import type { MiddlewareHandler } from 'hono';
import { jwtVerify } from 'jose';
import { getConfig } from '../config';
import type { AppEnv } from '../env';
import { forbidden, unauthorized } from './errors';
import { isUuid } from './ids';

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
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

/** Admin and job routes: the service key (current or next, for rotation without downtime). */
export const requireService: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw unauthorized('service key required');
  const key = matchServiceKey(c.env, token);
  if (!key) {
    // A valid user token is authenticated but not allowed here; anything else is not authenticated.
    if (await verifyUserToken(c.env, token).then(() => true, () => false)) throw forbidden('service role required');
    throw unauthorized('invalid service key');
  }
  c.set('service', { key });
  await next();
};

export async function verifyUserToken(env: Env, token: string) {
  const config = getConfig(env);
  if (!config.AUTH_JWT_SECRET) throw new Error('no JWT verification key configured');
  const { payload } = await jwtVerify(token, new TextEncoder().encode(config.AUTH_JWT_SECRET), {
    algorithms: ['HS256'],
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
  if (!isUuid(payload.sub)) throw new Error('sub must be a UUID');
  return { id: payload.sub, email: typeof payload.email === 'string' ? payload.email : undefined, claims: payload };
}

/** User routes: a valid JWT whose sub is a UUID. */
export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw unauthorized('bearer token required');
  // The auth step is a named kernel operation ('auth.login'): the guide alerts on its p95.
  const started = performance.now();
  const user = await verifyUserToken(c.env, token).catch(() => {
    c.get('metrics').observe('auth.login', performance.now() - started, false);
    throw unauthorized('invalid or expired token');
  });
  c.get('metrics').observe('auth.login', performance.now() - started, false);
  c.set('user', user as AppEnv['Variables']['user']);
  await next();
};
