// The isolate's side of the exact limiter: permits leased from the subject's RateLimiter object and
// spent locally, so most requests cost no round trip, while the object stays the only judge.
//
//   - One call in flight per (subject, class) per isolate: concurrent requests wait for it and
//     then spend what it brought back (100 requests in flight cost about two calls, not 100).
//   - A call asks for this request's permit plus the isolate's recent demand (requests seen in the
//     last lease period), at most the subject's average allowance over a lease (limit × lease /
//     window), so a low limit always gets one permit per call: exact, nothing held back.
//   - A lease is valid for validMs counted from BEFORE the call was sent (so the isolate stops
//     before the object's end of the lease whatever the network delay); unspent permits go back
//     with the next call (refund). Permits count at the object from the grant on: an isolate can
//     spend only what the object already counted, so the object never admits more than the limit.
//   - A refusal is remembered until its Retry-After: the window cannot have room before then
//     (only a refund from another isolate could free some earlier — under-admission, not over).
//   - The headers: remaining = what the object had left after the grant + this isolate's unspent
//     permits, i.e. what the object decided, not a local guess.
//   - A failed or timed-out call opens a breaker for BREAKER_MS: the caller's fallback decides
//     (middleware.ts) without waiting for the object again; then one call probes it.
import type { LimitClass } from '../platform/access';
import { withTimeout } from '../util/time';
import type { Limit } from './limiter-api';
import { LEASE_MS, type Lease, type LeaseRef, type LimitDecision, leaseMsFor } from './limiter-api';
import type { RateLimiter } from './rate-limiter';
import { windowShape } from './window';

export const BREAKER_MS = 5_000;
/** Most (subject, class) entries an isolate keeps (oldest dropped first; their unspent permits are lost). */
const MAX_ENTRIES = 10_000;

export type PermitOutcome =
  | { kind: 'decided'; decision: LimitDecision; via: 'object' | 'lease' | 'refusal' }
  | { kind: 'unavailable'; error?: unknown; waitedMs: number };

interface Entry {
  limit: number;
  windowSec: number;
  permits: number;
  validUntil: number;
  lease?: LeaseRef;
  /** The object's answer that the unspent permits belong to. */
  objectRemaining: number;
  resetAt: number;
  deniedUntil: number;
  unavailableUntil: number;
  inflight?: Promise<void>;
  waiting: number;
  refund?: LeaseRef & { n: number };
  /** Fallback admissions not yet charged to the object. */
  debt: number;
  period: number;
  seenNow: number;
  seenBefore: number;
}

const entries = new Map<string, Entry>();

function entryFor(key: string, limit: Limit): Entry {
  let e = entries.get(key);
  if (e && (e.limit !== limit.max || e.windowSec !== limit.windowSec)) {
    // New configuration: a remembered refusal no longer holds (held permits are still counted).
    e.deniedUntil = 0;
    e.limit = limit.max;
    e.windowSec = limit.windowSec;
  }
  if (!e) {
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    e = {
      limit: limit.max,
      windowSec: limit.windowSec,
      permits: 0,
      validUntil: 0,
      objectRemaining: 0,
      resetAt: 0,
      deniedUntil: 0,
      unavailableUntil: 0,
      waiting: 0,
      debt: 0,
      period: 0,
      seenNow: 0,
      seenBefore: 0,
    };
    entries.set(key, e);
  }
  return e;
}

const secondsUntil = (at: number, now: number) => Math.max(0, Math.ceil((at - now) / 1000));

/** Requests of this entry in the current and previous lease period: the demand estimate. */
function see(e: Entry, now: number): void {
  const period = Math.floor(now / LEASE_MS);
  if (period !== e.period) {
    e.seenBefore = period === e.period + 1 ? e.seenNow : 0;
    e.seenNow = 0;
    e.period = period;
  }
  e.seenNow++;
}

function expireLease(e: Entry, now: number): void {
  if (e.permits === 0 || now < e.validUntil) return;
  if (e.lease) {
    const same = e.refund && e.refund.incarnation === e.lease.incarnation && e.refund.slot === e.lease.slot;
    // One refund travels at a time; an older one not yet sent is dropped (under-admission only).
    e.refund = { ...e.lease, n: e.permits + (same ? e.refund!.n : 0) };
  }
  e.permits = 0;
}

export interface PermitRequest {
  ns: DurableObjectNamespace<RateLimiter>;
  subject: string;
  cls: LimitClass;
  limit: Limit;
  timeoutMs: number;
}

/** One request's permit: spent from a lease, refused from memory, or decided by the object. */
export async function takePermit(r: PermitRequest): Promise<PermitOutcome> {
  const e = entryFor(`${r.subject}\u0000${r.cls}`, r.limit);
  const started = Date.now();
  see(e, started);
  for (;;) {
    const now = Date.now();
    if (e.permits > 0 && now < e.validUntil) {
      e.permits--;
      return decided(r.limit.max, e.objectRemaining + e.permits, secondsUntil(e.resetAt, now), 0, 'lease');
    }
    expireLease(e, now);
    if (now < e.deniedUntil) return decided(r.limit.max, 0, secondsUntil(e.resetAt, now), secondsUntil(e.deniedUntil, now), 'refusal');
    if (now < e.unavailableUntil) return { kind: 'unavailable', waitedMs: now - started };
    if (!e.inflight) return callObject(r, e, started);
    e.waiting++;
    await e.inflight;
    e.waiting--;
  }
}

function decided(
  limit: number,
  remaining: number,
  resetSec: number,
  retryAfterSec: number,
  via: 'object' | 'lease' | 'refusal',
): PermitOutcome {
  return { kind: 'decided', decision: { allowed: retryAfterSec === 0, limit, remaining, resetSec, retryAfterSec }, via };
}

async function callObject(r: PermitRequest, e: Entry, started: number): Promise<PermitOutcome> {
  const windowMs = r.limit.windowSec * 1000;
  const cap = Math.max(1, Math.floor((r.limit.max * leaseMsFor(windowShape(windowMs))) / windowMs));
  // This request and the ones waiting for this call, or the recent demand if larger.
  const want = Math.min(cap, Math.max(e.waiting + 1, e.seenNow, e.seenBefore));
  const refund = e.refund;
  const charge = e.debt;
  e.refund = undefined; // sent once: a lost reply must not make it count twice
  const sentAt = Date.now();
  const request = { bucket: r.cls, limit: r.limit.max, windowSec: r.limit.windowSec, want, refund, charge };
  // A stub that throws at once (no such object, a broken binding) is just another failed call.
  const call = withTimeout(
    new Promise<Lease>((resolve) => resolve(r.ns.get(r.ns.idFromName(r.subject)).acquire(request))),
    r.timeoutMs,
    'rate limiter',
  );
  e.inflight = call.then(
    () => undefined,
    () => undefined,
  );
  try {
    const lease = await call;
    const now = Date.now();
    e.debt -= Math.min(e.debt, charge);
    e.unavailableUntil = 0;
    e.resetAt = now + lease.resetMs;
    if (lease.granted === 0) {
      e.deniedUntil = now + lease.retryMs;
      return decided(r.limit.max, 0, secondsUntil(e.resetAt, now), Math.max(1, secondsUntil(e.deniedUntil, now)), 'object');
    }
    e.permits = lease.granted - 1;
    e.validUntil = sentAt + lease.validMs;
    e.lease = { incarnation: lease.incarnation, slot: lease.slot, slotMs: lease.slotMs };
    e.objectRemaining = lease.remaining;
    return decided(lease.limit, lease.remaining + e.permits, secondsUntil(e.resetAt, now), 0, 'object');
  } catch (error) {
    e.unavailableUntil = Date.now() + BREAKER_MS;
    return { kind: 'unavailable', error, waitedMs: Date.now() - started };
  } finally {
    e.inflight = undefined;
  }
}

/** A fallback admission of this subject and class: charged to the object with the next call. */
export function owePermit(subject: string, cls: LimitClass, limit: Limit): void {
  entryFor(`${subject}\u0000${cls}`, limit).debt++;
}

/** Tests only: forget every lease, refusal and breaker of this isolate. */
export function resetPermits(): void {
  entries.clear();
}
