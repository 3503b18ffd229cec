// The rate-limit step of every request: which subject (user, service role, client IP), which
// limit (route class + per-user override, from src/ratelimit/config.ts), one decision by that
// subject's RateLimiter Durable Object, and the RateLimit-* headers on every response.
//
// Limiter unreachable (error or timeout): the route policy decides — reads fail open (served,
// nothing counted) after FAIL_OPEN_TIMEOUT_MS, admin writes and jobs fail closed (503) after the
// longer FAIL_CLOSED_TIMEOUT_MS (a slow limiter should delay a write, not refuse it). Either way a
// warn log line 'ratelimit.unavailable' and a failed 'ratelimit.check' metric record it.
import type { Context, MiddlewareHandler } from 'hono';
import { withDb } from '../db/client';
import { serviceUnavailable, tooManyRequests } from '../http/errors';
import { errorFields } from '../observability/logger';
import type { AppEnv } from '../platform/app-env';
import type { LimitClass } from '../platform/route';
import { withTimeout } from '../util/time';
import { ipSubject } from './client-ip';
import { getLimits, limitFor } from './config';
import type { LimitDecision } from './rate-limiter';

const FAIL_OPEN_TIMEOUT_MS = 1_000;
const FAIL_CLOSED_TIMEOUT_MS = 3_000;

export interface Subject {
  /** Durable Object name: 'user:<uuid>', 'service' or 'ip:<address>'. */
  key: string;
  userId?: string;
}

export function limitsEnabled(env: Env): boolean {
  return (env.RATE_LIMITS ?? '').trim().toLowerCase() !== 'off';
}

/** The RateLimiter object name of a user (their limiter state; erasure deletes it). */
export const userSubjectKey = (userId: string): string => `user:${userId}`;

export function subjectFor(c: Context<AppEnv>): Subject {
  const user = c.get('user');
  if (user) return { key: userSubjectKey(user.id), userId: user.id };
  if (c.get('service')) return { key: 'service' };
  return { key: `ip:${ipSubject(c.req.header('cf-connecting-ip'))}` };
}

/**
 * Count one request of `subject` in `cls`. Throws 429 over the limit, 503 when the limiter is
 * unreachable and the class fails closed. Records the decision for the response headers.
 */
export async function enforceLimit(c: Context<AppEnv>, subject: Subject, cls: LimitClass, failOpen: boolean): Promise<void> {
  if (!limitsEnabled(c.env)) return;
  const { unit } = c.var;
  const log = unit.log;
  const config = await getLimits({
    env: c.env,
    log,
    background: unit.waitUntil,
    withDb: (fn) => withDb(c.env, log, fn),
  });
  const limit = limitFor(config, cls, subject.userId);
  const started = performance.now();
  let decision: LimitDecision;
  try {
    const stub = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(subject.key));
    decision = await withTimeout(
      Promise.resolve(stub.check({ bucket: cls, limit: limit.max, windowSec: limit.windowSec })),
      failOpen ? FAIL_OPEN_TIMEOUT_MS : FAIL_CLOSED_TIMEOUT_MS,
      'rate limiter',
    );
    unit.metrics.observe('ratelimit.check', performance.now() - started, false);
  } catch (err) {
    unit.metrics.observe('ratelimit.check', performance.now() - started, true);
    log.warn('ratelimit.unavailable', { route_class: cls, policy: failOpen ? 'open' : 'closed', ...errorFields(err) });
    if (!failOpen) throw serviceUnavailable('rate limiter unavailable; retry shortly');
    c.set('rateLimit', {
      allowed: true,
      limit: limit.max,
      remaining: limit.max,
      resetSec: limit.windowSec,
      windowSec: limit.windowSec,
      degraded: true,
    });
    return;
  }
  c.set('rateLimit', { ...decision, windowSec: limit.windowSec });
  if (!decision.allowed) {
    log.info('ratelimit.denied', { route_class: cls, subject: subject.userId ? 'user' : subject.key.split(':')[0], limit: decision.limit });
    throw tooManyRequests(decision.retryAfterSec);
  }
}

/** Outermost of the limit middlewares: writes RateLimit-* onto whatever response was produced. */
export const rateLimitHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const state = c.get('rateLimit');
  if (!state) return;
  c.res.headers.set('RateLimit-Limit', String(state.limit));
  c.res.headers.set('RateLimit-Remaining', String(state.remaining));
  c.res.headers.set('RateLimit-Reset', String(state.resetSec));
  c.res.headers.set('RateLimit-Policy', `${state.limit};w=${state.windowSec}`);
};
