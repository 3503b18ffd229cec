// The gate's authentication steps (src/http/gate.ts calls them by the route's declaration):
// a user JWT or the service key, verified by src/auth/tokens.ts.
// 401 = no or invalid credentials; 403 = valid credentials of the wrong kind for this route.
import type { Context } from 'hono';
import { forbidden, unauthorized } from '../http/errors';
import type { AppEnv, AuthUser } from '../platform/app-env';
import { bearerToken, MALFORMED, matchServiceKey, TokenError, verifyUserToken } from './tokens';
import { rememberUser } from './user-upsert';

/**
 * Authenticate a user for this request (sets c.var.user). Idempotent.
 * The step is a named kernel operation ('auth.login', guide §4: alert on p95 > 600 ms): token
 * verification plus the first-sight users upsert.
 */
export async function authenticateUser(c: Context<AppEnv>, opts: { hot?: boolean } = {}): Promise<AuthUser> {
  const existing = c.get('user');
  if (existing) return existing;
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw unauthorized('bearer token required');
  const started = performance.now();
  let user: AuthUser;
  try {
    user = await verifyUserToken(c.env, token);
  } catch (err) {
    c.var.unit.metrics.observe('auth.login', performance.now() - started, false);
    // A service key on a user route: valid credentials, wrong role.
    const notAJwt = err instanceof TokenError && err.message === MALFORMED;
    if (notAJwt && matchServiceKey(c.env, token)) throw forbidden('user token required');
    throw unauthorized('invalid or expired token');
  }
  // Hot routes (/v1/rank, /v1/flags) never touch Postgres: the user is provisioned by the first
  // route that does (every /v1/me/* and /v1/rewards call), which is also the first that needs the row.
  if (!opts.hot) await rememberUser(c.var.unit, user);
  c.var.unit.metrics.observe('auth.login', performance.now() - started, false);
  c.set('user', user);
  return user;
}

/** Authenticate the service role (sets c.var.service). Idempotent like authenticateUser. */
export async function authenticateService(c: Context<AppEnv>): Promise<'current' | 'next'> {
  const existing = c.get('service');
  if (existing) return existing.key;
  const token = bearerToken(c.req.header('authorization'));
  if (!token) throw unauthorized('service key required');
  const key = matchServiceKey(c.env, token);
  if (!key) {
    // A valid user token is authenticated but not allowed here; anything else is not authenticated.
    if (
      await verifyUserToken(c.env, token).then(
        () => true,
        () => false,
      )
    )
      throw forbidden('service role required');
    throw unauthorized('invalid service key');
  }
  c.set('service', { key });
  return key;
}
