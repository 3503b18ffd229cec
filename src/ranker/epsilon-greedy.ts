// epsilon_greedy_v1: fill the slate position by position. At each position, with probability 1−ε
// take the best remaining candidate (exploit); with probability ε take one uniformly at random
// among the remaining (explore; it may happen to be the best one). The probability that candidate
// a lands at a position, given the remaining set R, is therefore exactly
//     p(a | R) = (1−ε)·[a is best in R] + ε/|R|
// which sums to 1 over R. That is what we log as p_exp, plus what off-policy evaluation needs.
//
// Cost: O(n log k) to find the top k (a heap), O(k²) for the picks and the final order, O(n) for
// scores and sums: linear in the number of candidates n for a fixed slate size k, never a full sort.
import type { Rng } from './rng';
import type { LoggedItem, ScoredCandidate } from './types';

/** Strict total order of exploit preference: higher score first, then smaller id (deterministic ties). */
export function better(a: ScoredCandidate, b: ScoredCandidate): boolean {
  return a.score > b.score || (a.score === b.score && a.id < b.id);
}

/**
 * Indices of the k best candidates, best first, via a size-k min-heap (root = worst kept).
 * Scores are compared from a Float64Array; ids only break exact ties.
 */
export function topK(cands: readonly ScoredCandidate[], k: number, scores: readonly number[] = scoresOf(cands)): number[] {
  const n = cands.length;
  if (k <= 0 || n === 0) return [];
  const size = Math.min(k, n);
  const heap = new Int32Array(size);
  // worse(a, b): a ranks below b in exploit order.
  const worse = (a: number, b: number) => scores[a]! < scores[b]! || (scores[a] === scores[b] && cands[a]!.id > cands[b]!.id);
  let len = 0;
  for (let idx = 0; idx < n; idx++) {
    if (len < size) {
      let i = len++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(idx, heap[p]!)) break;
        heap[i] = heap[p]!;
        i = p;
      }
      heap[i] = idx;
    } else if (worse(heap[0]!, idx)) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= len) break;
        const r = l + 1;
        const m = r < len && worse(heap[r]!, heap[l]!) ? r : l;
        if (!worse(heap[m]!, idx)) break;
        heap[i] = heap[m]!;
        i = m;
      }
      heap[i] = idx;
    }
  }
  // Heap → best-first list: insertion sort (k is small: the slate size).
  const out: number[] = [];
  for (let j = 0; j < len; j++) {
    const v = heap[j]!;
    let i = out.length;
    out.push(v);
    while (i > 0 && worse(out[i - 1]!, v)) {
      out[i] = out[i - 1]!;
      i--;
    }
    out[i] = v;
  }
  return out;
}

function scoresOf(cands: readonly ScoredCandidate[]): number[] {
  const scores: number[] = [];
  for (let i = 0; i < cands.length; i++) scores.push(cands[i]!.score);
  return scores;
}

/** The r-th (0-based) index in 0..n-1 not among the first `count` entries of `removed` (ascending). */
function nthRemaining(r: number, removed: Int32Array, count: number): number {
  let idx = r;
  for (let i = 0; i < count; i++) {
    if (removed[i]! <= idx) idx++;
    else break;
  }
  return idx;
}

/**
 * Rank `cands` into a slate of min(limit, n) items. `rng` decides explore/exploit and the uniform
 * pick; it is drawn once per position for the coin and once more when exploring.
 */
export function epsilonGreedySlate(cands: readonly ScoredCandidate[], limit: number, epsilon: number, rng: Rng): LoggedItem[] {
  const n = cands.length;
  const k = Math.min(Math.max(0, Math.floor(limit)), n);
  const eps = Math.min(1, Math.max(0, epsilon));
  const scores = scoresOf(cands);
  const top = topK(cands, k, scores);
  const removedSorted = new Int32Array(k);
  const removedTop = new Uint8Array(k);
  let remainingSum = 0;
  for (let i = 0; i < n; i++) remainingSum += scores[i]!;
  let topPtr = 0;
  let pPrefix = 1;
  let greedyPrefix = true;
  const items: LoggedItem[] = new Array(k);

  for (let pos = 0; pos < k; pos++) {
    const m = n - pos;
    while (removedTop[topPtr]) topPtr++;
    const best = top[topPtr]!;
    const explore = rng() < eps;
    const chosen = explore ? nthRemaining(Math.min(m - 1, Math.floor(rng() * m)), removedSorted, pos) : best;
    const isGreedy = chosen === best;
    const p = (isGreedy ? 1 - eps : 0) + eps / m;
    pPrefix *= p;
    greedyPrefix = greedyPrefix && isGreedy;
    items[pos] = {
      candidate_id: cands[chosen]!.id,
      position: pos,
      score: scores[chosen]!,
      explored: explore,
      p_exp: p,
      ope: {
        n_remaining: m,
        is_greedy: isGreedy,
        p_prefix: pPrefix,
        greedy_prefix: greedyPrefix,
        q_greedy: scores[best]!,
        q_mean: remainingSum / m,
      },
    };
    // Only top-k members can be "best remaining" later: mark them in the top list.
    for (let t = topPtr; t < k; t++)
      if (top[t] === chosen) {
        removedTop[t] = 1;
        break;
      }
    let i = pos;
    while (i > 0 && removedSorted[i - 1]! > chosen) {
      removedSorted[i] = removedSorted[i - 1]!;
      i--;
    }
    removedSorted[i] = chosen;
    remainingSum -= scores[chosen]!;
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
