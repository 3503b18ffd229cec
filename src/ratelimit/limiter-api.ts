// What callers exchange with the RateLimiter Durable Object (rate-limiter.ts), the lease constants
// both sides use, and the anonymous limit. Pure (no Worker types), so isolate code imports no
// Durable Object and unit tests in Node can import it.
import type { WindowShape } from './window';

/** A limit: at most `max` requests in any `windowSec` seconds. */
export interface Limit {
  max: number;
  windowSec: number;
}

/**
 * What the native binding for callers without an identity enforces: MUST equal wrangler.toml
 * [[ratelimits]] ANON_RATE_LIMITER simple { limit, period } in every environment (the binding's
 * configuration cannot be read at run time; test/unit/ratelimit-binding-config.test.ts checks).
 */
export const ANON_LIMIT: Limit = { max: 300, windowSec: 60 };
export const ANON_BINDING = 'ANON_RATE_LIMITER';

/** Storage writes of one object (LimiterStore), for the bench and the runbook's cost figures. */
export interface WriteStats {
  /** Write transactions (one per flush, whatever the number of rows). */
  writes: number;
  /** SQLite rows written (what Durable Objects bill), schema creation included. */
  rowsWritten: number;
}

export interface LimitCheck {
  /** Bucket inside this subject, e.g. the route class. */
  bucket: string;
  limit: number;
  windowSec: number;
  /** Requests this call counts, all or nothing (default 1). 0 = peek without counting. */
  cost?: number;
}

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the oldest counted request leaves the window (quota starts coming back). */
  resetSec: number;
  /** On a denial: seconds until a request of this cost would be admitted. */
  retryAfterSec: number;
}

/** Identifies where and when a lease was counted, so that it can be settled. */
export interface LeaseRef {
  /** This object instance: a restarted object ignores settlements of its predecessor's leases. */
  incarnation: string;
  /** The slot the whole lease counts in until it is settled (where it ends). */
  slot: number;
  slotMs: number;
  /** The object's clock when it granted the lease. */
  grantAt: number;
}

/** What an isolate did with a lease, reported with its next call once the lease is over. */
export interface Settlement extends LeaseRef {
  granted: number;
  /** spends[k] = permits spent between k and k + 1 slots after the request was sent. */
  spends: number[];
}

export interface LeaseRequest {
  bucket: string;
  limit: number;
  windowSec: number;
  /** Permits wanted (≥ 1): the caller's request plus what its isolate expects to spend soon. */
  want: number;
  /** The isolate's previous lease of this bucket, now over. */
  settle?: Settlement;
  /** Admissions the isolate's fallback limiter made while this object did not answer. */
  charge?: number;
}

export interface Lease extends LeaseRef {
  /** Permits granted, at most `want` and what the window has left; 0 = refused. */
  granted: number;
  /** How long the isolate may spend them, counted from before it sent the request. */
  validMs: number;
  limit: number;
  /** Left in the window after this grant (the granted permits are already counted). */
  remaining: number;
  resetMs: number;
  /** When refused: ms until one permit fits. */
  retryMs: number;
}

export interface LimiterStats extends WriteStats {
  alarmsSet: number;
  buckets: number;
}

/** Longest lease; a lease also never lasts more than a quarter of its window. */
export const LEASE_MS = 5_000;
/** Isolates stop spending this long before the object's end of a lease (clock reading lag). */
export const LEASE_SAFETY_MS = 100;
/** At most one write per object per this interval. */
export const MIN_WRITE_INTERVAL_MS = 1_000;

export const leaseMsFor = (shape: WindowShape): number => Math.min(LEASE_MS, Math.floor(shape.windowMs / 4));

/** A whole, non-negative count from an RPC argument (a caller's NaN, fraction or negative never counts). */
export const whole = (n: number | undefined, fallback: number): number =>
  Math.max(0, Math.floor(Number.isFinite(n) ? (n as number) : fallback));
