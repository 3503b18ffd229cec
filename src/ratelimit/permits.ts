// The isolate's side of the exact limiter: permits leased from the subject's RateLimiter object and
// spent locally, so most requests cost no round trip, while the object stays the only judge.
//
//   - One call in flight per (subject, class) per isolate: concurrent requests wait for it and
//     then spend what it brought back (100 requests in flight cost about two calls, not 100).
//   - A call asks for this request's permit plus the isolate's recent demand (requests seen in the
//     last lease period), at most the subject's average allowance over a lease (limit × lease /
//     window), so a low limit always gets one permit per call: exact, nothing held back.
//   - A lease is valid for validMs counted from BEFORE the call was sent (so the isolate stops
//     before the object's end of the lease whatever the network delay). Permits count at the
//     object from the grant on: an isolate can spend only what the object already counted, so the
//     object never admits more than the limit. The next call settles the lease: how many permits
//     were spent in which slot after sending (the object moves them there, so they stop counting
//     as early as they may) and, implicitly, how many were not (the object drops them).
//   - A refusal is remembered until its Retry-After: the window cannot have room before then
//     (only a refund from another isolate could free some earlier — under-admission, not over).
//   - The headers: remaining = what the object had left after the grant + this isolate's unspent
//     permits, i.e. what the object decided, not a local guess.
//   - A failed or timed-out call opens a breaker for BREAKER_MS: the caller's fallback decides
//     (middleware.ts) without waiting for the object again; then one call probes it.
import type { LimitClass } from '../platform/access';
import { withTimeout } from '../util/time';
import type { Limit } from './limiter-api';
import { LEASE_MS, type Lease, type LeaseRef, type LimitDecision, leaseMsFor, type Settlement } from './limiter-api';
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
  /** The current lease: granted permits and when they were spent (slots after `sentAt`). */
  lease?: { ref: LeaseRef; granted: number; sentAt: number; spends: number[] };
  /** The object's answer that the unspent permits belong to. */
  objectRemaining: number;
  resetAt: number;
  deniedUntil: number;
  unavailableUntil: number;
  inflight?: Promise<void>;
  waiting: number;
  settle?: Settlement;
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

/** Count one spend of the current lease in its slot (relative to when the call was sent). */
function spend(e: Entry, now: number): void {
  const l = e.lease;
  if (!l) return;
  const k = Math.max(0, Math.floor((now - l.sentAt) / l.ref.slotMs));
  l.spends[k] = (l.spends[k] ?? 0) + 1;
}

/** A lease that is over (spent or expired) becomes the settlement the next call carries. */
function endLease(e: Entry, now: number): void {
  if (!e.lease || (e.permits > 0 && now < e.validUntil)) return;
  const { ref, granted, spends } = e.lease;
  // One settlement travels at a time; an older one not yet sent is dropped (its lease then simply
  // keeps counting until its end slot expires: under-admission, never over-admission).
  e.settle = { ...ref, granted, spends: Array.from(spends, (n) => n ?? 0) };
  e.lease = undefined;
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
      spend(e, now);
      return decided(r.limit.max, e.objectRemaining + e.permits, secondsUntil(e.resetAt, now), 0, 'lease');
    }
    endLease(e, now);
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
  endLease(e, Date.now());
  const settle = e.settle;
  const charge = e.debt;
  e.settle = undefined; // sent once: a lost reply must not make it apply twice
  const sentAt = Date.now();
  const request = { bucket: r.cls, limit: r.limit.max, windowSec: r.limit.windowSec, want, settle, charge };
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
    if (lease.granted > 1) {
      const ref = { incarnation: lease.incarnation, slot: lease.slot, slotMs: lease.slotMs, grantAt: lease.grantAt };
      e.lease = { ref, granted: lease.granted, sentAt, spends: [] };
      spend(e, now); // this request's own permit
    }
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
