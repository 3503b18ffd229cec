// The limiter's counting rule (src/ratelimit/window.ts) against its stated guarantee, on random
// traffic: no interval of the window's length ever holds more than `limit` admissions — with
// requests decided one by one, and with permits leased in blocks, spent later (the isolate side) and
// settled — and a refusal only ever happens when the last (slots + 1) slots really hold
// `limit` admissions (the bounded under-admission the runbook states).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leaseMsFor } from '../../src/ratelimit/limiter-api';
import { add, inspect, prune, reshape, type SlotCounts, settle, slotOf, total, windowShape } from '../../src/ratelimit/window';

/** Most admissions in any interval [a, a + windowMs) of these (sorted) times. */
function busiestWindow(times: number[], windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

// Gaps between requests in ms, aimed at the edges: bursts, slot boundaries ± a few ms, about one
// window (the oldest slot's edge), about a lease and a window minus a lease (late spends of a
// lease), and anything up to a window and a half.
const traffic = fc
  .record({ limit: fc.integer({ min: 1, max: 30 }), windowMs: fc.constantFrom(1_000, 7_000, 60_000, 3_600_000) })
  .chain(({ limit, windowMs }) => {
    const shape = windowShape(windowMs);
    const { slotMs } = shape;
    const leaseMs = leaseMsFor(shape);
    const gap = fc.oneof(
      fc.integer({ min: Math.max(0, leaseMs - 2 * slotMs), max: leaseMs }),
      fc.integer({ min: Math.max(0, windowMs - leaseMs - 2 * slotMs), max: windowMs - leaseMs + 2 * slotMs }),
      fc.constant(0),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: Math.max(0, slotMs - 3), max: slotMs + 3 }),
      fc.integer({ min: Math.max(0, windowMs - 2 * slotMs), max: windowMs + 2 * slotMs }),
      fc.integer({ min: 0, max: Math.floor(windowMs * 1.5) }),
    );
    return fc.record({ limit: fc.constant(limit), windowMs: fc.constant(windowMs), gaps: fc.array(gap, { minLength: 1, maxLength: 300 }) });
  });

describe('sliding window over slots', () => {
  it('shapes: about 60 slots per window, one-second slots for a minute, never under 1 ms', () => {
    expect(windowShape(60_000)).toEqual({ windowMs: 60_000, slotMs: 1_000, slots: 60 });
    expect(windowShape(1_000)).toEqual({ windowMs: 1_000, slotMs: 17, slots: 59 });
    expect(windowShape(3_600_000)).toEqual({ windowMs: 3_600_000, slotMs: 60_000, slots: 60 });
    expect(windowShape(7)).toEqual({ windowMs: 7, slotMs: 1, slots: 7 });
  });

  it('never admits more than the limit in any window, and refuses only when the last slots + 1 are full', () => {
    fc.assert(
      fc.property(traffic, ({ limit, windowMs, gaps }) => {
        const shape = windowShape(windowMs);
        const counts: SlotCounts = [];
        const admitted: number[] = [];
        let now = 1_700_000_000_000;
        for (const g of gaps) {
          now += g;
          prune(shape, counts, now);
          if (inspect(shape, counts, now, limit, 1).remaining >= 1) {
            add(counts, slotOf(shape, now), 1);
            admitted.push(now);
          } else {
            // Refused: the admissions still counted all lie within (slots + 1) slots of now.
            const span = (shape.slots + 1) * shape.slotMs;
            expect(admitted.filter((t) => t > now - span).length).toBeGreaterThanOrEqual(limit);
          }
          expect(counts.length).toBeLessThanOrEqual(shape.slots + 2);
        }
        expect(busiestWindow(admitted, windowMs)).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 1_000 },
    );
  });

  it('leases: counted at grant in the slot where the lease ends, spent later, then settled where they were spent', () => {
    fc.assert(
      fc.property(traffic, fc.integer({ min: 1, max: 12 }), ({ limit, windowMs, gaps }, maxWant) => {
        const shape = windowShape(windowMs);
        const leaseMs = leaseMsFor(shape);
        const counts: SlotCounts = [];
        const spent: number[] = [];
        let lease: { permits: number; until: number; endSlot: number; granted: number; grantAt: number; spends: number[] } | undefined;
        let now = 1_700_000_000_000;
        for (const g of gaps) {
          now += g;
          if (lease && lease.permits > 0 && now < lease.until) {
            lease.permits--;
            lease.spends[Math.floor((now - lease.grantAt) / shape.slotMs)] =
              (lease.spends[Math.floor((now - lease.grantAt) / shape.slotMs)] ?? 0) + 1;
            spent.push(now);
            continue;
          }
          // The object: settle the lease that is over (spent or expired), then grant.
          prune(shape, counts, now);
          if (lease) settle(shape, counts, { ...lease, spends: Array.from(lease.spends, (n) => n ?? 0) }, 100);
          lease = undefined;
          const granted = Math.min(maxWant, inspect(shape, counts, now, limit, 1).remaining);
          if (granted === 0) continue;
          const endSlot = slotOf(shape, now + (granted > 1 ? leaseMs : 0));
          add(counts, endSlot, granted);
          spent.push(now);
          if (granted > 1) lease = { permits: granted - 1, until: now + leaseMs - 100, endSlot, granted, grantAt: now, spends: [1] };
        }
        expect(busiestWindow(spent, windowMs)).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 1_000 },
    );
  });

  it('Retry-After is exact: a request refused at t fits at t + retryMs, not a slot earlier', () => {
    fc.assert(
      fc.property(traffic, ({ limit, windowMs, gaps }) => {
        const shape = windowShape(windowMs);
        const counts: SlotCounts = [];
        let now = 1_700_000_000_000;
        for (const g of gaps) {
          now += g;
          prune(shape, counts, now);
          const s = inspect(shape, counts, now, limit, 1);
          if (s.remaining >= 1) add(counts, slotOf(shape, now), 1);
          else {
            expect(s.retryMs).toBeGreaterThan(0);
            expect(total(shape, counts, now + s.retryMs)).toBeLessThanOrEqual(limit - 1);
            expect(total(shape, counts, now + s.retryMs - shape.slotMs)).toBeGreaterThanOrEqual(limit);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a changed window keeps every admission counted at least as long as before', () => {
    const from = windowShape(60_000);
    const to = windowShape(7_000);
    const counts: SlotCounts = [
      [100, 3],
      [101, 1],
      [130, 2],
    ];
    const moved = reshape(from, to, counts);
    expect(moved.reduce((n, [, c]) => n + c, 0)).toBe(6);
    for (const [slot] of counts) {
      const end = (slot + 1) * from.slotMs;
      expect(moved.some(([s]) => (s + 1) * to.slotMs >= end && s * to.slotMs < end)).toBe(true);
    }
  });
});
