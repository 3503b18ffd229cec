// A sliding window over fixed slots: the rate limiter's counting rule, pure (no I/O, no clock).
//
// A window of W ms is cut into slots of S = ceil(W / 60) ms (one second for the usual 60 s window)
// and N = ceil(W / S) slots cover it. An admission at time t counts in slot floor(t / S). A request
// at `now` sees every slot from floor(now / S) − N on: the N slots that overlap the last W ms plus
// the oldest, partly expired one, counted fully. It is admitted iff that total plus its cost is at
// most the limit.
//
// Guarantee: no interval of W ms ever holds more than `limit` admissions. Proof: let t* be the
// last admission inside [a, a + W). Every admission t in that interval has t > t* − W ≥
// (floor(t*/S) − N)·S, so its slot was counted when t* was decided, and that decision kept the
// total at or under the limit.
// Price: the oldest slot counts in full, so an admission keeps counting for at most W + S (61 s
// for a 60 s window): over a long run the limiter admits at least limit·W/(W + S) per W, i.e. it may
// under-admit by one slot's share (1/61 ≈ 1.6 %), never over-admit.
//
// Memory and storage per bucket: at most N + 2 (slot, count) pairs whatever the limit; a limit of
// 1,000,000/min costs exactly what 10/min costs.

/** The ideal number of slots per window; slots never get shorter than 1 ms. */
export const SLOTS_PER_WINDOW = 60;

export interface WindowShape {
  windowMs: number;
  slotMs: number;
  /** Slots needed to cover the window: ceil(windowMs / slotMs). */
  slots: number;
}

export function windowShape(windowMs: number): WindowShape {
  const w = Math.max(1, Math.floor(windowMs));
  const slotMs = Math.max(1, Math.ceil(w / SLOTS_PER_WINDOW));
  return { windowMs: w, slotMs, slots: Math.ceil(w / slotMs) };
}

/** (slot index, count) pairs in ascending slot order; slots with count 0 are not kept. */
export type SlotCounts = [slot: number, count: number][];

/** The slot an admission at `atMs` counts in. */
export const slotOf = (shape: WindowShape, atMs: number): number => Math.floor(atMs / shape.slotMs);

/** The oldest slot a decision at `now` still counts. */
const oldestCounted = (shape: WindowShape, now: number): number => slotOf(shape, now) - shape.slots;

/** When a slot stops being counted (ms since the epoch). */
export const slotExpiresAt = (shape: WindowShape, slot: number): number => (slot + shape.slots + 1) * shape.slotMs;

/** Drop slots no decision at `now` or later counts again. Mutates and returns `counts`. */
export function prune(shape: WindowShape, counts: SlotCounts, now: number): SlotCounts {
  const oldest = oldestCounted(shape, now);
  let drop = 0;
  while (drop < counts.length && counts[drop]![0] < oldest) drop++;
  if (drop > 0) counts.splice(0, drop);
  return counts;
}

/** Admissions counted by a decision at `now`. */
export function total(shape: WindowShape, counts: SlotCounts, now: number): number {
  const oldest = oldestCounted(shape, now);
  let n = 0;
  for (const [slot, count] of counts) if (slot >= oldest) n += count;
  return n;
}

/** Count `n` admissions in `slot` (kept sorted; usually an append or an increment of the last pair). */
export function add(counts: SlotCounts, slot: number, n: number): void {
  if (n <= 0) return;
  let i = counts.length;
  while (i > 0 && counts[i - 1]![0] > slot) i--;
  const at = counts[i - 1];
  if (at && at[0] === slot) at[1] += n;
  else counts.splice(i, 0, [slot, n]);
}

/** Take back `n` admissions counted in `slot` (never below zero; emptied slots are dropped). */
export function subtract(counts: SlotCounts, slot: number, n: number): number {
  const i = counts.findIndex(([s]) => s === slot);
  if (i < 0 || n <= 0) return 0;
  const taken = Math.min(n, counts[i]![1]);
  counts[i]![1] -= taken;
  if (counts[i]![1] === 0) counts.splice(i, 1);
  return taken;
}

/**
 * A lease is over: its `granted` permits were counted in `endSlot` when granted at `grantAt`, and
 * `spends[k]` of them were spent between k and k + 1 slots after the request for it was sent (so
 * before grantAt + (k + 1) slots + `marginMs`, the isolate's clock lag allowed for). Count each spend
 * in the last slot it can have happened in (never later than `endSlot`) and drop the unspent
 * permits: exact for what was never spent, and every spend stays counted at least as long as its
 * real time requires. If the end slot has expired, so has every spend: nothing is left to move.
 */
export function settle(
  shape: WindowShape,
  counts: SlotCounts,
  lease: { endSlot: number; granted: number; grantAt: number; spends: readonly number[] },
  marginMs: number,
): void {
  if (subtract(counts, lease.endSlot, lease.granted) === 0) return;
  lease.spends.forEach((n, k) => {
    if (n > 0) add(counts, Math.min(lease.endSlot, slotOf(shape, lease.grantAt + (k + 1) * shape.slotMs + marginMs)), n);
  });
}

export interface WindowState {
  /** Requests still admissible now (limit − counted, at least 0). */
  remaining: number;
  /** ms until the oldest counted admission stops counting (the window length when nothing counts). */
  resetMs: number;
  /** ms until a request of `cost` fits; 0 if it fits now; the window length if it never can. */
  retryMs: number;
}

/** What the window looks like at `now` for a request of `cost` under `limit`. */
export function inspect(shape: WindowShape, counts: SlotCounts, now: number, limit: number, cost: number): WindowState {
  const oldest = oldestCounted(shape, now);
  const counted = total(shape, counts, now);
  const first = counts.find(([slot, count]) => slot >= oldest && count > 0);
  const resetMs = first ? slotExpiresAt(shape, first[0]) - now : shape.windowMs;
  let retryMs = 0;
  const excess = counted + cost - limit;
  if (cost > limit) retryMs = shape.windowMs;
  else if (excess > 0) {
    // Capacity comes back slot by slot, oldest first: wait for the slot that frees enough.
    let freed = 0;
    for (const [slot, count] of counts) {
      if (slot < oldest) continue;
      freed += count;
      if (freed >= excess) {
        retryMs = slotExpiresAt(shape, slot) - now;
        break;
      }
    }
  }
  return { remaining: Math.max(0, limit - counted), resetMs: Math.max(0, resetMs), retryMs: Math.max(0, retryMs) };
}

/**
 * The same counts under another window length (an operator changed it): each old slot moves to
 * the LAST new slot it overlaps, so nothing expires earlier than it would have.
 */
export function reshape(from: WindowShape, to: WindowShape, counts: SlotCounts): SlotCounts {
  if (from.slotMs === to.slotMs) return counts;
  const out: SlotCounts = [];
  for (const [slot, count] of counts) add(out, Math.floor(((slot + 1) * from.slotMs - 1) / to.slotMs), count);
  return out;
}
