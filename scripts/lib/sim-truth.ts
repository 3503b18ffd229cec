// The simulator's ground truth: the exact expected reward of an epsilon-greedy slate
// (src/ranker/epsilon-greedy.ts) given the candidates' exploit order and their hidden reward rates.
// This is the estimand of src/ranker/ope.ts for one decision: the target policy run on the same
// candidates and exploit scores the logging policy saw — no sampling, so no noise in the "truth".
//
// State after t picks: the best remaining candidate is index j of the exploit order (every
// candidate before it has been picked) and s of the L = n − 1 − j candidates after it have been
// picked. Exploration picks uniformly among the remaining, so those s form a uniformly random
// s-subset of the L: (j, s) is a sufficient state, with j + s = t. At each position the policy
// takes the best remaining with probability 1 − ε + ε/m (m = n − t remaining), else one of the
// other m − 1 uniformly. O(k²) states, O(k) transitions each.

/** Expected Σ_k rate(a_k) of a slate of length k; `rates` in exploit order (best first). */
export function epsilonGreedySlateValue(rates: readonly number[], k: number, eps: number): number {
  const n = rates.length;
  const len = Math.min(k, n);
  const after = new Float64Array(n); // after[j] = Σ_{i>j} rates[i]
  for (let j = n - 2; j >= 0; j--) after[j] = after[j + 1]! + rates[j + 1]!;
  let prob = new Float64Array(len + 1); // prob[s] of state (j = t − s, s)
  prob[0] = 1;
  let value = 0;
  for (let t = 0; t < len; t++) {
    const next = new Float64Array(len + 1);
    const m = n - t;
    for (let s = 0; s <= t; s++) {
      const p = prob[s]!;
      if (p === 0) continue;
      const j = t - s;
      const L = n - 1 - j;
      // Each later candidate is still there with probability (L − s)/L.
      const laterRemaining = L > 0 ? (after[j]! * (L - s)) / L : 0;
      value += p * ((1 - eps) * rates[j]! + (eps * (rates[j]! + laterRemaining)) / m);
      const pOther = (eps * (m - 1)) / m;
      if (pOther > 0) next[s + 1]! += p * pOther;
      // The best is taken: the new best is the first later candidate not yet picked. The run of
      // picked ones right after j has length r with P(run ≥ r) = Π_{i<r} (s − i)/(L − i).
      const pBest = 1 - pOther;
      let atLeast = 1;
      for (let r = 0; r <= s; r++) {
        const atLeastNext = r < s ? (atLeast * (s - r)) / (L - r) : 0;
        next[s - r]! += p * pBest * (atLeast - atLeastNext);
        atLeast = atLeastNext;
      }
    }
    prob = next;
  }
  return value;
}
