// The rate-limit step of every request: which subject (user, service role, client address), which
// limit (route class + per-user override, from src/ratelimit/config.ts), who decides, and the
// RateLimit-* headers on every response.
//
//   user / service role   exact: the subject's RateLimiter Durable Object, through this isolate's
//                         leased permits (permits.ts); the headers say what the object decided
//   client address        Cloudflare's native rate-limiting binding (anonymous.ts): no object
//
// Closed under overload: when the object (or the binding) fails or does not answer in time, the
// request is never simply served. Classes with failOpen (anon, user, admin_read) are decided by the
// per-isolate fallback limiter (fallback.ts: a tenth of the limit per isolate and window, charged to
// the object once it answers again); admin_write and job fail closed with 503. Every fallback
// decision is counted under the operation 'ratelimit.fallback' (alert rule ratelimit_fallback,
// dashboard "Rate limiter" line, RUNBOOK §7); the failure that opened the breaker logs
// 'ratelimit.unavailable' once.
import type { Context, MiddlewareHandler } from 'hono';
import { withDb } from '../db/client';
import { serviceUnavailable, tooManyRequests } from '../http/errors';
import { errorFields } from '../observability/logger';
import type { AppEnv, RateLimitState } from '../platform/app-env';
import type { LimitClass } from '../platform/route';
import { ANON_LIMIT, anonymousAllowed, anonymousKey } from './anonymous';
import { ipSubject } from './client-ip';
import { getLimits, type Limit, limitFor } from './config';
import { fallbackDecide } from './fallback';
import { owePermit, takePermit } from './permits';

/** How long a fallback class waits for its object before the fallback decides. */
const FALLBACK_TIMEOUT_MS = 1_000;
/** A slow limiter should delay an admin write or a job, not refuse it: 503 only after this. */
const FAIL_CLOSED_TIMEOUT_MS = 3_000;
/** Metric operation of every fallback decision (requests = decisions, errors = refusals). */
export const FALLBACK_OPERATION = 'ratelimit.fallback';

export type Subject =
  /** Durable Object name 'user:<uuid>' or 'service'. */
  | { kind: 'object'; key: string; userId?: string }
  /** The client address: IPv4, or the IPv6 /64. */
  | { kind: 'address'; key: string; ip: string };

export function limitsEnabled(env: Env): boolean {
  return (env.RATE_LIMITS ?? '').trim().toLowerCase() !== 'off';
}

/** The RateLimiter object name of a user (their limiter state; erasure deletes it). */
export const userSubjectKey = (userId: string): string => `user:${userId}`;

export function subjectFor(c: Context<AppEnv>): Subject {
  const user = c.get('user');
  if (user) return { kind: 'object', key: userSubjectKey(user.id), userId: user.id };
  if (c.get('service')) return { kind: 'object', key: 'service' };
  const ip = ipSubject(c.req.header('cf-connecting-ip'));
  return { kind: 'address', key: `ip:${ip}`, ip };
}

/**
 * Count one request of `subject` in `cls`. Throws 429 over the limit, 503 when the limiter is
 * unreachable and the class fails closed. Records the decision for the response headers.
 */
export async function enforceLimit(c: Context<AppEnv>, subject: Subject, cls: LimitClass, failOpen: boolean): Promise<void> {
  if (!limitsEnabled(c.env)) return;
  if (subject.kind === 'address') return enforceAddress(c, subject.ip, cls);
  const { unit } = c.var;
  const config = await getLimits({ env: c.env, log: unit.log, background: unit.waitUntil, withDb: (fn) => withDb(c.env, unit.log, fn) });
  const limit = limitFor(config, cls, subject.userId);
  const started = performance.now();
  const out = await takePermit({
    ns: c.env.RATE_LIMITER,
    subject: subject.key,
    cls,
    limit,
    timeoutMs: failOpen ? FALLBACK_TIMEOUT_MS : FAIL_CLOSED_TIMEOUT_MS,
  });
  if (out.kind === 'decided') {
    // Only calls to the object are timed; a permit spent from a lease costs no round trip.
    if (out.via === 'object') unit.metrics.observe('ratelimit.check', performance.now() - started, false);
    return apply(c, { ...out.decision, windowSec: limit.windowSec }, cls, subject.userId ? 'user' : 'service');
  }
  if (out.error !== undefined) {
    unit.metrics.observe('ratelimit.check', performance.now() - started, true);
    unit.log.warn('ratelimit.unavailable', { route_class: cls, policy: failOpen ? 'fallback' : 'closed', ...errorFields(out.error) });
  }
  if (!failOpen) throw serviceUnavailable('rate limiter unavailable; retry shortly');
  const allowed = fallback(c, `${subject.key}\u0000${cls}`, limit, cls, out.waitedMs);
  if (allowed) owePermit(subject.key, cls, limit);
  return check(c, cls, subject.userId ? 'user' : 'service');
}

/** Callers without an identity: the native binding, per class and client address. */
async function enforceAddress(c: Context<AppEnv>, ip: string, cls: LimitClass): Promise<void> {
  const key = anonymousKey(cls, ip);
  const started = performance.now();
  let allowed: boolean;
  try {
    allowed = await anonymousAllowed(c.env.ANON_RATE_LIMITER, key);
  } catch (err) {
    c.var.unit.log.warn('ratelimit.unavailable', { route_class: cls, policy: 'fallback', limiter: 'binding', ...errorFields(err) });
    fallback(c, `binding\u0000${key}`, ANON_LIMIT, cls, performance.now() - started);
    return check(c, cls, 'address');
  }
  // The binding says only yes or no: no Remaining or Reset to report, Retry-After = its period.
  const state: RateLimitState = { allowed, limit: ANON_LIMIT.max, windowSec: ANON_LIMIT.windowSec, source: 'binding' };
  return apply(c, allowed ? state : { ...state, remaining: 0, retryAfterSec: ANON_LIMIT.windowSec }, cls, 'address');
}

/** The per-isolate fallback decides and is counted; returns whether it admitted. */
function fallback(c: Context<AppEnv>, key: string, limit: Limit, cls: LimitClass, waitedMs: number): boolean {
  const d = fallbackDecide(key, limit);
  c.var.unit.metrics.observe(FALLBACK_OPERATION, waitedMs, !d.allowed);
  c.set('rateLimit', { ...d, windowSec: limit.windowSec, source: 'fallback' });
  if (!d.allowed) c.var.unit.log.info('ratelimit.fallback_denied', { route_class: cls, budget: d.limit });
  return d.allowed;
}

function apply(c: Context<AppEnv>, state: RateLimitState, cls: LimitClass, subject: string): void {
  c.set('rateLimit', state);
  check(c, cls, subject);
}

/** 429 if the recorded decision refused the request. */
function check(c: Context<AppEnv>, cls: LimitClass, subject: string): void {
  const state = c.get('rateLimit');
  if (!state || state.allowed) return;
  if (state.source !== 'fallback') c.var.unit.log.info('ratelimit.denied', { route_class: cls, subject, limit: state.limit });
  throw tooManyRequests(state.retryAfterSec ?? 1);
}

/** Outermost of the limit middlewares: writes RateLimit-* onto whatever response was produced. */
export const rateLimitHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const state = c.get('rateLimit');
  if (!state) return;
  c.res.headers.set('RateLimit-Limit', String(state.limit));
  if (state.remaining !== undefined) c.res.headers.set('RateLimit-Remaining', String(state.remaining));
  if (state.resetSec !== undefined) c.res.headers.set('RateLimit-Reset', String(state.resetSec));
  c.res.headers.set('RateLimit-Policy', `${state.limit};w=${state.windowSec}`);
};
