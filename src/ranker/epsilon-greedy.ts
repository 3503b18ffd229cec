// epsilon_greedy_v1: fill the slate position by position. At each position, with probability 1−ε
// take the best remaining candidate (exploit); with probability ε take one uniformly at random
// among the remaining (explore; it may happen to be the best one). The probability that candidate
// a lands at a position, given the remaining set R, is therefore exactly
//     p(a | R) = (1−ε)·[a is best in R] + ε/|R|
// which sums to 1 over R. That is what we log as p_exp, plus what off-policy evaluation needs.
//
// Cost: O(n log k) to find the top k (a heap), O(k²) for the picks, O(n) for sums: linear in the
// number of candidates n for a fixed slate size k, never a full sort.
import type { Rng } from './rng';
import type { LoggedItem, ScoredCandidate } from './types';

/** Strict total order of exploit preference: higher score first, then smaller id (deterministic ties). */
export function better(a: ScoredCandidate, b: ScoredCandidate): boolean {
  return a.score > b.score || (a.score === b.score && a.id < b.id);
}

/** Indices of the k best candidates, best first, via a size-k min-heap (root = worst kept). */
export function topK(cands: readonly ScoredCandidate[], k: number): number[] {
  if (k <= 0) return [];
  const heap: number[] = [];
  const worse = (i: number, j: number) => better(cands[j]!, cands[i]!);
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let idx = 0; idx < cands.length; idx++) {
    if (heap.length < k) {
      heap.push(idx);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    } else if (better(cands[idx]!, cands[heap[0]!]!)) {
      heap[0] = idx;
      siftDown(0);
    }
  }
  return heap.sort((i, j) => (better(cands[i]!, cands[j]!) ? -1 : 1));
}

/** The r-th (0-based) index in 0..n-1 that is not in `removed` (ascending). O(|removed|). */
function nthRemaining(r: number, removed: readonly number[]): number {
  let idx = r;
  for (const x of removed) {
    if (x <= idx) idx++;
    else break;
  }
  return idx;
}

function insertSorted(arr: number[], v: number): void {
  let i = arr.length;
  arr.push(v);
  while (i > 0 && arr[i - 1]! > v) {
    arr[i] = arr[i - 1]!;
    i--;
  }
  arr[i] = v;
}

/**
 * Rank `cands` into a slate of min(limit, n) items. `rng` decides explore/exploit and the uniform
 * pick; it is drawn once per position for the coin and once more when exploring.
 */
export function epsilonGreedySlate(cands: readonly ScoredCandidate[], limit: number, epsilon: number, rng: Rng): LoggedItem[] {
  const n = cands.length;
  const k = Math.min(Math.max(0, Math.floor(limit)), n);
  const eps = Math.min(1, Math.max(0, epsilon));
  const top = topK(cands, k);
  const removedSorted: number[] = [];
  const removed = new Uint8Array(n);
  let remainingSum = 0;
  for (let i = 0; i < n; i++) remainingSum += cands[i]!.score;
  let topPtr = 0;
  let pPrefix = 1;
  let greedyPrefix = true;
  const items: LoggedItem[] = [];

  for (let pos = 0; pos < k; pos++) {
    const m = n - pos;
    while (removed[top[topPtr]!]) topPtr++;
    const best = top[topPtr]!;
    const explore = rng() < eps;
    const chosen = explore ? nthRemaining(Math.min(m - 1, Math.floor(rng() * m)), removedSorted) : best;
    const isGreedy = chosen === best;
    const p = (isGreedy ? 1 - eps : 0) + eps / m;
    pPrefix *= p;
    greedyPrefix = greedyPrefix && isGreedy;
    const c = cands[chosen]!;
    items.push({
      candidate_id: c.id,
      position: pos,
      score: c.score,
      explored: explore,
      p_exp: p,
      ope: {
        n_remaining: m,
        is_greedy: isGreedy,
        p_prefix: pPrefix,
        greedy_prefix: greedyPrefix,
        q_greedy: cands[best]!.score,
        q_mean: remainingSum / m,
      },
    });
    removed[chosen] = 1;
    insertSorted(removedSorted, chosen);
    remainingSum -= c.score;
  }
  return items;
}

/**
 * The policy's full distribution at one position: p(a | R) for every remaining candidate.
 * Used by tests and by the simulator to check and evaluate; the ranker itself never needs it.
 */
export function positionDistribution(remaining: readonly ScoredCandidate[], epsilon: number): Map<string, number> {
  const out = new Map<string, number>();
  if (remaining.length === 0) return out;
  let best = remaining[0]!;
  for (const c of remaining) if (better(c, best)) best = c;
  for (const c of remaining) out.set(c.id, (c === best ? 1 - epsilon : 0) + epsilon / remaining.length);
  return out;
}
