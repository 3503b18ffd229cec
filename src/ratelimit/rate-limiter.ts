// RateLimiter Durable Object: one object per subject (a user id, or the service role), SQLite-
// backed. Each route class is a bucket counted with the sliding window of window.ts: slot counters,
// so memory and storage per bucket do not depend on the limit.
//
// Exact under concurrency: every decision is synchronous (read, decide, count, no await in between)
// and an object runs one event at a time, so 200 concurrent calls are 200 ordered decisions.
//
// Write-behind with claims: a decision writes nothing. A bucket's row holds a CLAIM: how many more
// admissions the object may make before writing again. Only when the claim runs out does the
// object write (counts + a new claim, one transaction, synchronously, so the output gate holds the
// reply until it is durable) — and never twice within MIN_WRITE_INTERVAL_MS: requests that need a
// claim sooner wait for that moment (a burst beyond the claim; claims are sized so steady traffic
// never waits). A restarted or evicted object loads the rows and counts each bucket's whole claim as
// admitted "just now" (in the slot a lease taken just before the restart would count in), so it
// never admits more than the limit; it under-admits by at most the unused part of the claim, for
// one window.
//
// Leases: acquire() may grant an isolate several permits at once (permits.ts). They count in full at
// grant time, in the slot of their expiry (LEASE_MS later), so a permit spent at any moment of the
// lease is inside the counted span. The isolate's next call settles the lease: unspent permits are
// dropped and spent ones move to the slot they were spent in (window.ts, settle).
//
// Idle state costs nothing: an alarm prunes expired slots and, once every bucket is empty, deletes
// all of the object's storage.
import { DurableObject } from 'cloudflare:workers';
import {
  LEASE_SAFETY_MS,
  type Lease,
  type LeaseRequest,
  type LimitCheck,
  type LimitDecision,
  type LimiterStats,
  leaseMsFor,
  MIN_WRITE_INTERVAL_MS,
  whole,
} from './limiter-api';
import type { Bucket, Waiting } from './limiter-state';
import { LimiterStore, type StoredBucket } from './limiter-store';
import { add, inspect, prune, reshape, settle, slotExpiresAt, slotOf, windowShape } from './window';

export type { Lease, LeaseRef, LeaseRequest, LimitCheck, LimitDecision, LimiterStats, Settlement } from './limiter-api';

const CLEANUP_SLACK_MS = 1_000;
const BLOCKED = Symbol('needs a write');

export class RateLimiter extends DurableObject<Env> {
  private readonly store: LimiterStore;
  private readonly buckets = new Map<string, Bucket>();
  private readonly incarnation = crypto.randomUUID();
  private readonly queue: Waiting[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private alarmAt: number | null = null;
  private alarmsSet = 0;
  /** Test hook, set only through runInDurableObject: every call waits until it settles. */
  private stall: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LimiterStore(ctx.storage);
    this.load(Date.now());
    void ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Decide and count `cost` requests, all or nothing. */
  check(req: LimitCheck): LimitDecision | Promise<LimitDecision> {
    return this.run(req.bucket, whole(req.cost, 1), () => this.tryCheck(req));
  }

  /** Grant up to `want` permits (a lease), after settling the caller's previous lease and a charge. */
  acquire(req: LeaseRequest): Lease | Promise<Lease> {
    const r = { ...req };
    return this.run(req.bucket, whole(req.want, 1) + whole(req.charge, 0), () => this.tryAcquire(r));
  }

  /** Current state of a bucket without counting anything (ops and tests). */
  peek(bucket: string, windowSec: number, limit: number): LimitDecision | Promise<LimitDecision> {
    return this.check({ bucket, windowSec, limit, cost: 0 });
  }

  /** Erasure of the subject (src/privacy/erasure.ts): drop every bucket, the storage and the alarm now. */
  async erase(): Promise<void> {
    this.buckets.clear();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.store.forget();
    this.alarmAt = null;
  }

  stats(): LimiterStats {
    return { ...this.store.stats, alarmsSet: this.alarmsSet, buckets: this.buckets.size };
  }

  // ------------------------------------------------------------------------------ decisions

  private tryCheck(req: LimitCheck): LimitDecision | typeof BLOCKED {
    const now = Date.now();
    const cost = whole(req.cost, 1);
    const b = this.bucket(req.bucket, req.windowSec, req.limit, now);
    const before = inspect(b.shape, b.counts, now, b.limit, cost);
    const allowed = cost === 0 || (cost <= b.limit && before.remaining >= cost);
    if (allowed && cost > 0) {
      if (!this.covered(b, req.bucket, cost, now)) return BLOCKED;
      this.admit(b, cost, slotOf(b.shape, now), now);
    }
    const after = allowed ? inspect(b.shape, b.counts, now, b.limit, 0) : before;
    return {
      allowed,
      limit: b.limit,
      remaining: after.remaining,
      resetSec: Math.ceil(after.resetMs / 1000),
      retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil(before.retryMs / 1000)),
    };
  }

  private tryAcquire(req: LeaseRequest): Lease | typeof BLOCKED {
    const now = Date.now();
    const b = this.bucket(req.bucket, req.windowSec, req.limit, now);
    const s = req.settle;
    if (s && s.incarnation === this.incarnation && s.slotMs === b.shape.slotMs && Array.isArray(s.spends)) {
      // Counted by this instance in that slot: move what was spent to when it was, drop the rest.
      const spends = s.spends.map((n) => whole(n, 0));
      settle(b.shape, b.counts, { endSlot: s.slot, granted: whole(s.granted, 0), grantAt: s.grantAt, spends }, LEASE_SAFETY_MS);
    }
    req.settle = undefined; // applied once, even if this attempt has to wait for a write
    const charge = whole(req.charge, 0);
    const before = inspect(b.shape, b.counts, now, b.limit, 1);
    const granted = Math.min(whole(req.want, 1), before.remaining);
    if (granted + charge > 0 && !this.covered(b, req.bucket, granted + charge, now)) return BLOCKED;
    if (charge > 0) this.admit(b, charge, slotOf(b.shape, now), now);
    const leaseMs = granted > 1 ? leaseMsFor(b.shape) : 0;
    const slot = slotOf(b.shape, now + leaseMs);
    if (granted > 0) this.admit(b, granted, slot, now);
    const after = inspect(b.shape, b.counts, now, b.limit, 1);
    return {
      granted,
      incarnation: this.incarnation,
      slot,
      slotMs: b.shape.slotMs,
      grantAt: now,
      validMs: granted > 1 ? leaseMs - LEASE_SAFETY_MS : 0,
      limit: b.limit,
      remaining: after.remaining,
      resetMs: after.resetMs,
      retryMs: granted > 0 ? 0 : Math.max(1, before.retryMs),
    };
  }

  private bucket(name: string, windowSec: number, limit: number, now: number): Bucket {
    const shape = windowShape(whole(windowSec, 1) * 1000);
    let b = this.buckets.get(name);
    if (!b) {
      b = { shape, counts: [], limit: 0, claim: 0, used: 0, second: 0, thisSecond: 0, lastSecond: 0 };
      this.buckets.set(name, b);
    } else if (b.shape.windowMs !== shape.windowMs) {
      b.counts = reshape(b.shape, shape, b.counts); // an operator changed the window
      b.shape = shape;
    }
    b.limit = whole(limit, 0);
    prune(b.shape, b.counts, now);
    return b;
  }

  private admit(b: Bucket, n: number, slot: number, now: number): void {
    add(b.counts, slot, n);
    b.used += n;
    this.ensureAlarm();
    const second = Math.floor(now / 1000);
    if (second !== b.second) {
      b.lastSecond = second === b.second + 1 ? b.thisSecond : 0;
      b.thisSecond = 0;
      b.second = second;
    }
    b.thisSecond += n;
  }

  // ------------------------------------------------------------------------- persistence

  /** Whether `n` more admissions are covered by the stored claim, writing a new one if allowed. */
  private covered(b: Bucket, name: string, n: number, now: number): boolean {
    if (b.used + n <= b.claim) return true;
    if (now - this.lastWriteAt < MIN_WRITE_INTERVAL_MS) return false;
    this.write(now, name, n);
    return true;
  }

  /**
   * One write: every bucket's counts and a fresh claim — the demand in hand (or queued) plus
   * headroom: twice the last second's admissions, and at least a lease's worth of the limit
   * (limit × lease / window, what one isolate may ask at once) or 16, so steady traffic and the
   * usual bursts never wait. The claim is also what a restart may cost: see `load`.
   */
  private write(now: number, requesting: string, n: number): void {
    const rows: StoredBucket[] = [];
    const second = Math.floor(now / 1000);
    for (const [name, b] of this.buckets) {
      const queued = this.queue.filter((w) => w.bucket === name).reduce((sum, w) => sum + w.demand, 0);
      const need = Math.max(name === requesting ? n : 0, queued);
      const recent = b.second === second ? b.thisSecond + b.lastSecond : b.second === second - 1 ? b.thisSecond : 0;
      const floor = Math.max(Math.ceil((b.limit * leaseMsFor(b.shape)) / b.shape.windowMs), Math.min(b.limit, 16));
      b.claim = Math.max(need, Math.min(b.limit, need + Math.max(floor, 2 * recent)));
      b.used = 0;
      rows.push({ bucket: name, windowMs: b.shape.windowMs, counts: b.counts, claim: b.claim });
    }
    this.store.save(rows);
    this.lastWriteAt = now;
  }

  /** A restarted object: stored counts plus each whole claim, counted as admitted just now. */
  private load(now: number): void {
    for (const s of this.store.loadAll()) {
      const shape = windowShape(s.windowMs);
      const counts = prune(shape, s.counts, now);
      add(counts, slotOf(shape, now + leaseMsFor(shape)), s.claim);
      this.buckets.set(s.bucket, { shape, counts, limit: 0, claim: 0, used: 0, second: 0, thisSecond: 0, lastSecond: 0 });
    }
  }

  /** Requests that need a write before MIN_WRITE_INTERVAL_MS has passed wait here, in order. */
  private run<T>(bucket: string, demand: number, attempt: () => T | typeof BLOCKED): T | Promise<T> {
    const stall = this.stall;
    if (stall) {
      return stall.then(() => {
        if (this.stall === stall) this.stall = null;
        return this.run(bucket, demand, attempt);
      });
    }
    if (this.queue.length === 0) {
      const r = attempt();
      if (r !== BLOCKED) return r;
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ bucket, demand, attempt, resolve: resolve as (v: unknown) => void, reject });
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.flushTimer !== undefined) return;
    const wait = Math.max(0, this.lastWriteAt + MIN_WRITE_INTERVAL_MS - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        let r: unknown;
        try {
          r = head.attempt();
        } catch (err) {
          this.queue.shift();
          head.reject(err);
          continue;
        }
        if (r === BLOCKED) return this.scheduleDrain();
        this.queue.shift();
        head.resolve(r);
      }
    }, wait);
  }

  private ensureAlarm(): void {
    if (this.alarmAt !== null) return;
    let latest = 0;
    for (const b of this.buckets.values()) {
      const last = b.counts.at(-1);
      if (last) latest = Math.max(latest, slotExpiresAt(b.shape, last[0]));
    }
    this.alarmAt = Math.max(latest, Date.now()) + CLEANUP_SLACK_MS;
    this.alarmsSet++;
    void this.ctx.storage.setAlarm(this.alarmAt);
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    for (const [name, b] of this.buckets) {
      if (prune(b.shape, b.counts, now).length > 0 || this.queue.some((w) => w.bucket === name)) continue;
      // Nothing of this bucket counts any more: its stored claim can go too.
      this.buckets.delete(name);
      this.store.remove(name);
    }
    if (this.buckets.size > 0) return this.ensureAlarm();
    // Nothing live: drop the table and the object's storage (the alarm too), so an idle key costs nothing.
    await this.ctx.storage.deleteAll();
    this.store.forget();
  }
}
