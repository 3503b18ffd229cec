// The per-isolate fallback limiter: who decides when the exact limiter cannot (its object failed
// or did not answer in time, or the native binding for anonymous callers threw). Never "admit
// everything": each isolate gives each subject and class its own budget of
// ceil(limit / FALLBACK_DIVISOR) per window, counted with the same sliding window as the object
// (window.ts). So while an object is down, a subject served by k isolates gets at most
// k · ceil(limit / FALLBACK_DIVISOR) per window from them (plus permits they already held), and the
// admissions are charged to the object once it answers again (permits.ts, owePermit).
//
// Every fallback decision is counted by the caller under the operation 'ratelimit.fallback'
// (requests = decisions, errors = refusals; RUNBOOK §7).
import type { Limit } from './limiter-api';
import { add, inspect, prune, type SlotCounts, slotOf, type WindowShape, windowShape } from './window';

/** A subject's per-isolate budget is its limit divided by this (at least 1 request per window). */
export const FALLBACK_DIVISOR = 10;
const MAX_SUBJECTS = 10_000;

export interface FallbackDecision {
  allowed: boolean;
  /** The fallback budget: what this isolate alone may admit per window. */
  limit: number;
  remaining: number;
  resetSec: number;
  retryAfterSec: number;
}

export const fallbackBudget = (limit: Limit): number => Math.max(1, Math.ceil(limit.max / FALLBACK_DIVISOR));

const windows = new Map<string, { shape: WindowShape; counts: SlotCounts }>();

/** Decide (and count) one request of `key` against this isolate's fallback budget. */
export function fallbackDecide(key: string, limit: Limit, now = Date.now()): FallbackDecision {
  const budget = fallbackBudget(limit);
  const shape = windowShape(limit.windowSec * 1000);
  let w = windows.get(key);
  if (!w || w.shape.windowMs !== shape.windowMs) {
    if (!w && windows.size >= MAX_SUBJECTS) windows.delete(windows.keys().next().value!);
    w = { shape, counts: [] };
    windows.set(key, w);
  }
  prune(w.shape, w.counts, now);
  const before = inspect(w.shape, w.counts, now, budget, 1);
  const allowed = before.remaining >= 1;
  if (allowed) add(w.counts, slotOf(w.shape, now), 1);
  const after = allowed ? inspect(w.shape, w.counts, now, budget, 0) : before;
  return {
    allowed,
    limit: budget,
    remaining: after.remaining,
    resetSec: Math.ceil(after.resetMs / 1000),
    retryAfterSec: allowed ? 0 : Math.max(1, Math.ceil(before.retryMs / 1000)),
  };
}

/** Tests only. */
export function resetFallback(): void {
  windows.clear();
}
