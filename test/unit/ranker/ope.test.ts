// OPE estimators: exact unbiasedness on an enumerable case, sums algebra, coverage on a bandit.
import { describe, expect, it } from 'vitest';
import {
  addDecision,
  better,
  emptySums,
  epsilonGreedySlate,
  estimatesFromSums,
  loggedEpsilon,
  OPE_TARGETS,
  type OpeItem,
  type OpeTarget,
  positionDistribution,
  rngForDecision,
  type ScoredCandidate,
  targetProbability,
} from '../../../src/ranker';
import { decisionId } from './helpers';

const cands: ScoredCandidate[] = [
  { id: 'a', score: 0.6 },
  { id: 'b', score: 0.3 },
  { id: 'c', score: 0.2 },
  { id: 'd', score: 0.1 },
];
const rate: Record<string, number> = { a: 0.2, b: 0.5, c: 0.1, d: 0.4 };

/** Every slate of length k the policy can produce, with its probability and the logged items. */
function enumerate(eps: number, k: number): { p: number; items: OpeItem[] }[] {
  const out: { p: number; items: OpeItem[] }[] = [];
  const go = (remaining: ScoredCandidate[], p: number, items: OpeItem[]) => {
    if (items.length === k) return void out.push({ p, items });
    const dist = positionDistribution(remaining, eps);
    const best = remaining.reduce((b, c) => (better(c, b) ? c : b)).id;
    const mean = remaining.reduce((s, c) => s + c.score, 0) / remaining.length;
    for (const c of remaining) {
      const pe = dist.get(c.id)!;
      if (pe === 0) continue;
      const it: OpeItem = {
        position: items.length,
        p_exp: pe,
        is_greedy: c.id === best,
        n_remaining: remaining.length,
        reward: rate[c.id]!,
        q_hat: c.score,
        q_greedy: remaining.find((r) => r.id === best)!.score,
        q_mean: mean,
      };
      go(
        remaining.filter((r) => r !== c),
        p * pe,
        [...items, it],
      );
    }
  };
  go(cands, 1, []);
  return out;
}

/** True per-impression value of the epsilon-greedy target with expected rewards. */
function truth(eps: number, k: number): number {
  return enumerate(eps, k).reduce((s, { p, items }) => s + p * items.reduce((a, i) => a + i.reward, 0), 0) / k;
}

describe('per-decision importance sampling', () => {
  it('is exactly unbiased: E_logging[IPS numerator] equals the target value, for every target', () => {
    const k = 3;
    for (const logEps of [0.1, 0.5]) {
      const logged = enumerate(logEps, k);
      expect(logged.reduce((s, l) => s + l.p, 0)).toBeCloseTo(1, 12);
      for (const t of [...OPE_TARGETS, { name: 'epsilon=0.25', epsilon: 0.25 }, { name: 'epsilon=0.7', epsilon: 0.7 }]) {
        const target = t.epsilon ?? logEps;
        let ipsNum = 0,
          drNum = 0,
          wSum = 0;
        for (const { p, items } of logged) {
          const s = emptySums();
          addDecision(s, items, t, Infinity);
          ipsNum += p * s.x;
          drNum += p * s.y;
          wSum += p * s.w;
        }
        expect(ipsNum / k, `${t.name} IPS`).toBeCloseTo(truth(target, k), 12);
        expect(drNum / k, `${t.name} DR`).toBeCloseTo(truth(target, k), 12);
        expect(wSum / k, `${t.name} E[ρ] = 1`).toBeCloseTo(1, 12);
      }
    }
  });

  it('recovers the logging ε from p_exp', () => {
    const items = epsilonGreedySlate(cands, 3, 0.37, rngForDecision(decisionId(4)));
    for (const it of items) {
      const o = it.ope!;
      const rec = loggedEpsilon({ ...o, position: it.position, p_exp: it.p_exp, reward: 0, q_hat: it.score });
      expect(rec).toBeCloseTo(0.37, 12);
      expect(targetProbability(rec, o.is_greedy, o.n_remaining)).toBeCloseTo(it.p_exp, 14);
    }
  });

  it('clips cumulative weights above the cap and counts them', () => {
    const items: OpeItem[] = [0, 1].map((position) => ({
      position,
      p_exp: 0.01,
      is_greedy: false,
      n_remaining: 4 - position,
      reward: 1,
      q_hat: 0,
      q_greedy: 0,
      q_mean: 0,
    }));
    const s = emptySums();
    addDecision(s, items, { name: 'uniform', epsilon: 1 }, 50);
    // ρ_0 = 0.25/0.01 = 25 (kept), ρ_1 = 25 · (1/3)/0.01 ≈ 833 (clipped to 50).
    expect(s.clipped).toBe(1);
    expect(s.x).toBeCloseTo(25 + 50, 12);
    // The mass the clip removed: Σρ = 25 + 833.3, Σ min(ρ, 50) = 75; ρ_{k−1}: 1 and 25, none clipped.
    expect(s.rho).toBeCloseTo(25 + 2500 / 3, 9);
    expect(s.w).toBeCloseTo(75, 12);
    expect(s.rho_prev).toBeCloseTo(26, 12);
    expect(s.wp).toBeCloseTo(26, 12);
    const e = estimatesFromSums(s, { support: { minEss: 0, maxMissingMass: Infinity, maxClippedShare: Infinity } });
    expect(e.clipped_mass_share).toBeCloseTo((2500 / 3 - 50) / (25 + 2500 / 3), 12);
  });
});

describe('estimatesFromSums', () => {
  it('matches a direct computation of the ratio estimates and their delta-method errors', () => {
    const decisions = [
      { X: 1.2, W: 2, n: 2 },
      { X: 0, W: 0.5, n: 2 },
      { X: 3, W: 4, n: 3 },
      { X: 0.4, W: 1, n: 1 },
    ];
    const s = emptySums();
    for (const d of decisions) {
      s.decisions++;
      s.items += d.n;
      s.x += d.X;
      s.x2 += d.X ** 2;
      s.xn += d.X * d.n;
      s.n2 += d.n ** 2;
      s.w += d.W;
      s.w2 += d.W ** 2;
      s.xw += d.X * d.W;
      s.rho += d.W; // nothing clipped: no widening
    }
    // Four decisions are far below the support threshold: lift it, and take a reward range of [0, 0]
    // so that no missing-weight widening applies (ΣW ≠ Σn here), to check the delta-method arithmetic.
    const e = estimatesFromSums(s, { rewardRange: [0, 0], support: { minEss: 0, maxMissingMass: Infinity, maxClippedShare: Infinity } });
    expect(e.status).toBe('ok');
    const N = decisions.length;
    const items = 8,
      X = 4.6,
      W = 7.5;
    expect(e.ips.estimate).toBeCloseTo(X / items, 14);
    const ipsVar = ((N / (N - 1)) * decisions.reduce((a, d) => a + (d.X - (X / items) * d.n) ** 2, 0)) / items ** 2;
    expect(e.ips.se).toBeCloseTo(Math.sqrt(ipsVar), 14);
    expect(e.ips.ci_high! - e.ips.estimate!).toBeCloseTo(1.959963984540054 * Math.sqrt(ipsVar), 12);
    expect(e.snips.estimate).toBeCloseTo(X / W, 14);
    const snipsVar = ((N / (N - 1)) * decisions.reduce((a, d) => a + (d.X - (X / W) * d.W) ** 2, 0)) / W ** 2;
    expect(e.snips.se).toBeCloseTo(Math.sqrt(snipsVar), 14);
  });

  it('reports nulls, not NaN, with no data', () => {
    const e = estimatesFromSums(emptySums());
    expect(e.ips).toEqual({ estimate: null, se: null, ci_low: null, ci_high: null });
    expect(e.ess).toBeNull();
    expect(e.status).toBe('insufficient_support');
    expect(e.reasons).toEqual(['no decisions with propensities in the window']);
  });
});

describe('on a simulated bandit', () => {
  it('greedy estimates cover the truth and the logging policy estimates its own mean exactly', () => {
    const pool: ScoredCandidate[] = Array.from({ length: 12 }, (_, i) => ({ id: `k${i}`, score: (12 - i) / 20 }));
    const rates = new Map(pool.map((c, i) => [c.id, [0.3, 0.05, 0.25, 0.2, 0.1, 0.15, 0.05, 0.3, 0.02, 0.1, 0.2, 0.05][i]!]));
    const greedyTruth = pool.slice(0, 4).reduce((s, c) => s + rates.get(c.id)!, 0) / 4;
    const targets: OpeTarget[] = [
      { name: 'greedy', epsilon: 0 },
      { name: 'logged', epsilon: null },
    ];
    const sums = targets.map(() => emptySums());
    let onPolicy = 0;
    let items = 0;
    for (let i = 0; i < 20_000; i++) {
      const rng = rngForDecision(decisionId(i, 11));
      const slate = epsilonGreedySlate(pool, 4, 0.2, rng);
      const logged: OpeItem[] = slate.map((it) => ({
        position: it.position,
        p_exp: it.p_exp,
        is_greedy: it.ope!.is_greedy,
        n_remaining: it.ope!.n_remaining,
        reward: rng() < rates.get(it.candidate_id)! ? 1 : 0,
        q_hat: it.score,
        q_greedy: it.ope!.q_greedy,
        q_mean: it.ope!.q_mean,
      }));
      for (const l of logged) {
        onPolicy += l.reward;
        items++;
      }
      for (const [j, t] of targets.entries()) addDecision(sums[j]!, logged, t);
    }
    const [greedy, logged] = sums.map((s) => estimatesFromSums(s));
    for (const est of [greedy!.ips, greedy!.snips, greedy!.dr]) {
      expect(est.ci_low!).toBeLessThan(greedyTruth);
      expect(est.ci_high!).toBeGreaterThan(greedyTruth);
      expect(Math.abs(est.estimate! - greedyTruth) / greedyTruth).toBeLessThan(0.05);
    }
    expect(logged!.ips.estimate).toBeCloseTo(onPolicy / items, 12);
    // Decision-level ESS (issue 12; was item-level, = items): every logged weight is 1, so every
    // decision weighs its 4 items alike and the ESS is the number of decisions.
    expect(logged!.ess).toBeCloseTo(20_000, 6);
    expect(greedy!.ess!).toBeLessThan(20_000);
    expect(greedy!.status).toBe('ok');
  });
});
