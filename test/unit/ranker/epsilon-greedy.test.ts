// epsilon_greedy_v1: exact per-position propensities, exploration rate, replay, cost shape.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  better,
  epsilonGreedySlate,
  type LoggedItem,
  positionDistribution,
  rank,
  rngForDecision,
  type ScoredCandidate,
  topK,
} from '../../../src/ranker';
import { candidates, decisionId } from './helpers';

/** Recompute the policy's distribution at every position of a served slate, from its remaining set. */
function replayDistributions(cands: readonly ScoredCandidate[], items: readonly LoggedItem[], eps: number) {
  let remaining = [...cands];
  return items.map((it) => {
    const dist = positionDistribution(remaining, eps);
    const best = remaining.reduce((b, c) => (better(c, b) ? c : b));
    const mean = remaining.reduce((s, c) => s + c.score, 0) / remaining.length;
    remaining = remaining.filter((c) => c.id !== it.candidate_id);
    return { dist, best, mean };
  });
}

describe('propensities', () => {
  it("sum to 1 over the remaining candidates at every position, and p_exp is the chosen one's", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 15 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.boolean(),
        (n, limit, eps, seed, ties) => {
          const cands = candidates(n, (i) => (ties ? (i % 3) / 3 : ((i * 7919) % 101) / 101));
          const items = epsilonGreedySlate(cands, limit, eps, rngForDecision(decisionId(seed)));
          expect(items).toHaveLength(Math.min(limit, n));
          expect(new Set(items.map((i) => i.candidate_id)).size).toBe(items.length);
          const dists = replayDistributions(cands, items, eps);
          let prefix = 1;
          items.forEach((it, pos) => {
            const { dist, best, mean } = dists[pos]!;
            const total = [...dist.values()].reduce((a, b) => a + b, 0);
            expect(total).toBeCloseTo(1, 12);
            expect(it.position).toBe(pos);
            expect(it.p_exp).toBeGreaterThan(0);
            expect(it.p_exp).toBeCloseTo(dist.get(it.candidate_id)!, 14);
            prefix *= it.p_exp;
            expect(it.ope!.p_prefix).toBeCloseTo(prefix, 14);
            expect(it.ope!.n_remaining).toBe(n - pos);
            expect(it.ope!.is_greedy).toBe(it.candidate_id === best.id);
            expect(it.ope!.q_greedy).toBe(best.score);
            expect(it.ope!.q_mean).toBeCloseTo(mean, 12);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('match the empirical frequency of each candidate at position 0 and at position 1', () => {
    const cands = candidates(6, (i) => [0.9, 0.5, 0.7, 0.1, 0.3, 0.2][i]!);
    const eps = 0.3;
    const N = 60_000;
    const first = new Map<string, number>();
    const second = new Map<string, number>(); // given the best was first
    let bestFirst = 0;
    const pFirst = new Map<string, number>();
    const pSecond = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const [a, b] = epsilonGreedySlate(cands, 2, eps, rngForDecision(decisionId(i, 7)));
      first.set(a!.candidate_id, (first.get(a!.candidate_id) ?? 0) + 1);
      pFirst.set(a!.candidate_id, a!.p_exp);
      if (a!.candidate_id === 'c00000') {
        bestFirst++;
        second.set(b!.candidate_id, (second.get(b!.candidate_id) ?? 0) + 1);
        pSecond.set(b!.candidate_id, b!.p_exp);
      }
    }
    // p(best first) = 0.7 + 0.3/6 = 0.75; others 0.05 each.
    expect(pFirst.get('c00000')).toBeCloseTo(0.75, 15);
    for (const c of cands) {
      const p = pFirst.get(c.id)!;
      const sigma = Math.sqrt((p * (1 - p)) / N);
      expect(Math.abs(first.get(c.id)! / N - p), c.id).toBeLessThan(5 * sigma);
    }
    // Given c00000 first, the best remaining is c00002 (0.7): 0.7 + 0.3/5 = 0.76.
    expect(pSecond.get('c00002')).toBeCloseTo(0.76, 15);
    for (const [id, count] of second) {
      const p = pSecond.get(id)!;
      const sigma = Math.sqrt((p * (1 - p)) / bestFirst);
      expect(Math.abs(count / bestFirst - p), id).toBeLessThan(5 * sigma);
    }
  });
});

describe('exploration', () => {
  it('the explored share is ε within 5σ over many decisions', () => {
    for (const eps of [0.02, 0.08, 0.3]) {
      const cands = candidates(50);
      let explored = 0;
      let total = 0;
      for (let i = 0; i < 10_000; i++) {
        for (const it of epsilonGreedySlate(cands, 10, eps, rngForDecision(decisionId(i, 3)))) {
          total++;
          if (it.explored) explored++;
        }
      }
      const sigma = Math.sqrt((eps * (1 - eps)) / total);
      expect(Math.abs(explored / total - eps), `ε=${eps}`).toBeLessThan(5 * sigma);
    }
  });

  it('ε = 0 serves the exact top-k with p_exp 1; ε = 1 picks uniformly with p_exp 1/|R|', () => {
    const cands = candidates(20, (i) => ((i * 37) % 20) / 20);
    const greedy = epsilonGreedySlate(cands, 5, 0, rngForDecision(decisionId(1)));
    const sorted = [...cands].sort((a, b) => (better(a, b) ? -1 : 1)).slice(0, 5);
    expect(greedy.map((i) => i.candidate_id)).toEqual(sorted.map((c) => c.id));
    expect(greedy.every((i) => i.p_exp === 1 && !i.explored && i.ope!.greedy_prefix)).toBe(true);
    const uniform = epsilonGreedySlate(cands, 5, 1, rngForDecision(decisionId(2)));
    for (const [k, it] of uniform.entries()) expect(it.p_exp).toBeCloseTo(1 / (20 - k), 15);
    expect(uniform.every((i) => i.explored)).toBe(true);
  });

  it('breaks score ties by candidate id, and logs the reward model values of the remaining set', () => {
    const cands: ScoredCandidate[] = [
      { id: 'b', score: 1 },
      { id: 'a', score: 1 },
      { id: 'c', score: 0.4 },
    ];
    const [first, second] = epsilonGreedySlate(cands, 2, 0, rngForDecision(decisionId(9)));
    expect(first!.candidate_id).toBe('a');
    expect(first!.ope).toMatchObject({ q_greedy: 1, n_remaining: 3 });
    expect(first!.ope!.q_mean).toBeCloseTo(2.4 / 3, 15);
    expect(second!.candidate_id).toBe('b');
    expect(second!.ope!.q_mean).toBeCloseTo(1.4 / 2, 15);
  });
});

describe('replay', () => {
  it('the same decision id and inputs give the same slate bit for bit', () => {
    const features = {};
    const input = {
      decisionId: '3f1c9a52-7d0e-4b6a-9c3e-2a5b8d7e6f10',
      limit: 10,
      policy: { version: 'epsilon_greedy_v1', epsilon: 0.5 },
      safeMode: false,
      candidates: candidates(40).map((c) => ({ id: c.id, score: c.score })),
      features,
    };
    const a = rank(input);
    const b = rank({ ...input, candidates: input.candidates.map((c) => ({ ...c })) });
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const other = rank({ ...input, decisionId: '3f1c9a52-7d0e-4b6a-9c3e-2a5b8d7e6f11' });
    expect(other.items.map((i) => i.candidate_id)).not.toEqual(a.items.map((i) => i.candidate_id));
  });
});

describe('topK', () => {
  it('equals the first k of a full sort, for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 60 }), fc.integer({ min: 0, max: 70 }), (scores, k) => {
        const cands = scores.map((s, i) => ({ id: `x${(i * 31) % 97}-${i}`, score: s }));
        const expected = cands
          .map((_, i) => i)
          .sort((i, j) => (better(cands[i]!, cands[j]!) ? -1 : 1))
          .slice(0, k);
        expect(topK(cands, k)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
