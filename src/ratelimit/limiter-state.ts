// The RateLimiter object's in-memory state per bucket and its queue of calls waiting for a write
// (rate-limiter.ts; kept apart so the object's module stays one concern).
import type { SlotCounts, WindowShape } from './window';

export interface Bucket {
  shape: WindowShape;
  counts: SlotCounts;
  limit: number;
  /** Admissions the stored claim still allows; `used` of them were made since the last write. */
  claim: number;
  used: number;
  /** Admissions in the current and the previous second (sizes the next claim). */
  second: number;
  thisSecond: number;
  lastSecond: number;
}

export interface Waiting {
  bucket: string;
  demand: number;
  attempt: () => unknown;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}
