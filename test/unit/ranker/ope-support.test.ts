// OPE: decision-level ESS, additivity of the sums, the clipping-bias widening and the
// insufficient_support gate (src/ranker/ope.ts, src/ranker/ope-estimates.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDecision,
  emptySums,
  epsilonGreedySlate,
  estimatesFromSums,
  mergeSums,
  OPE_SUPPORT,
  OPE_TARGETS,
  type OpeItem,
  type OpeSums,
  type OpeTarget,
  rngForDecision,
  type ScoredCandidate,
} from '../../../src/ranker';
import { decisionId } from './helpers';

const target = (name: string): OpeTarget => OPE_TARGETS.find((t) => t.name === name)!;
const UNGATED = { minEss: 0, maxMissingMass: Infinity, maxClippedShare: Infinity };

/** n logged decisions of an ε-greedy logger over `pool`, Bernoulli rewards from `rate`. */
function logDecisions(pool: ScoredCandidate[], n: number, k: number, eps: number, rate: (id: string) => number, salt = 1): OpeItem[][] {
  return Array.from({ length: n }, (_, i) => {
    const rng = rngForDecision(decisionId(i, salt));
    return epsilonGreedySlate(pool, k, eps, rng).map((it) => ({
      position: it.position,
      p_exp: it.p_exp,
      is_greedy: it.ope!.is_greedy,
      n_remaining: it.ope!.n_remaining,
      reward: rng() < rate(it.candidate_id) ? 1 : 0,
      q_hat: it.score,
      q_greedy: it.ope!.q_greedy,
      q_mean: it.ope!.q_mean,
    }));
  });
}

function sumsOf(decisions: OpeItem[][], t: OpeTarget, clip?: number): OpeSums {
  const s = emptySums();
  for (const d of decisions) addDecision(s, d, t, clip);
  return s;
}

const pool = (n: number): ScoredCandidate[] => Array.from({ length: n }, (_, i) => ({ id: `k${i}`, score: (n - i) / (2 * n) }));

describe('decision-level ESS and additive sums', () => {
  it('ESS never exceeds the number of decisions, and the sums of any split add up to the whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        fc.constantFrom(...OPE_TARGETS),
        fc.integer({ min: 0, max: 1e6 }),
        (n, k, eps, t, salt) => {
          const decisions = logDecisions(pool(8), n, k, eps, (id) => (Number(id.slice(1)) % 3) / 3, salt);
          const all = sumsOf(decisions, t);
          const e = estimatesFromSums(all, { support: UNGATED });
          if (e.ess !== null) expect(e.ess).toBeLessThanOrEqual(n * (1 + 1e-12));
          expect(e.ess ?? 0).toBeLessThanOrEqual(e.impressions * (1 + 1e-12));
          const cut = Math.floor(n / 2);
          const merged = mergeSums(sumsOf(decisions.slice(0, cut), t), sumsOf(decisions.slice(cut), t));
          for (const key of Object.keys(all) as (keyof OpeSums)[]) {
            if (all[key] === null) expect(merged[key]).toBeNull();
            else expect(merged[key]).toBeCloseTo(all[key] as number, 9);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('with equal weights the ESS is the number of decisions (not of items)', () => {
    const decisions = logDecisions(pool(8), 50, 4, 0.2, () => 0.3);
    const e = estimatesFromSums(sumsOf(decisions, target('logged')), { support: UNGATED });
    expect(e.ess).toBeCloseTo(50, 9);
    expect(e.impressions).toBe(200);
  });
});

describe('clipped weight mass', () => {
  // Two positions, a uniform target against a logger that almost never explores: ρ_0 = 25, ρ_1 ≈ 833.
  const items: OpeItem[] = [0, 1].map((position) => ({
    position,
    p_exp: 0.01,
    is_greedy: false,
    n_remaining: 4 - position,
    reward: position === 0 ? 1 : 0,
    q_hat: 0.2,
    q_greedy: 0.5,
    q_mean: 0.2,
  }));

  it('reports the share of weight mass above the clip, not only a count', () => {
    const s = emptySums();
    addDecision(s, items, target('uniform'), 100);
    const e = estimatesFromSums(s, { support: UNGATED });
    expect(e.clipped).toBe(1);
    expect(e.clipped_mass_share).toBeCloseTo((2500 / 3 - 100) / (25 + 2500 / 3), 12);
    expect(e.mean_weight).toBeCloseTo((25 + 100) / 2, 12);
  });

  it('widens each interval by what the missing weight mass could be worth, and not at all when none is missing', () => {
    const z = 1.959963984540054;
    const decisions = logDecisions(pool(10), 3000, 3, 0.3, (id) => (Number(id.slice(1)) % 4) / 4);
    const clipped = estimatesFromSums(sumsOf(decisions, target('uniform'), 5), { support: UNGATED });
    const unclipped = estimatesFromSums(sumsOf(decisions, target('uniform'), Infinity), { support: UNGATED });
    expect(clipped.clipped).toBeGreaterThan(0);
    for (const k of ['ips', 'snips', 'dr'] as const) {
      const c = clipped[k];
      // The unclipped estimate on the same data lies within the clipped estimate's bias band.
      expect(unclipped[k].estimate!, k).toBeGreaterThanOrEqual(c.ci_low! + z * c.se! - 1e-12);
      expect(unclipped[k].estimate!, k).toBeLessThanOrEqual(c.ci_high! - z * c.se! + 1e-12);
      expect(c.ci_high! - c.estimate!, k).toBeGreaterThan(z * c.se!);
    }
    // Rewards in [0, 1]: the clipped IPS can only be too low, so only its upper end moves, by the
    // missing mass per impression (the larger of the clipped excess and the mean weight's shortfall).
    const s = sumsOf(decisions, target('uniform'), 5);
    const m = Math.max((s.rho - s.w) / s.items, 1 - s.w / s.items);
    expect(clipped.ips.ci_low).toBeCloseTo(clipped.ips.estimate! - z * clipped.ips.se!, 12);
    expect(clipped.ips.ci_high).toBeCloseTo(clipped.ips.estimate! + z * clipped.ips.se! + m, 12);

    // The logging policy itself: every weight is 1, nothing is missing, the interval is symmetric.
    const logged = estimatesFromSums(sumsOf(decisions, target('logged'), 100));
    expect(logged.clipped).toBe(0);
    expect(logged.clipped_mass_share).toBe(0);
    expect(logged.mean_weight).toBe(1);
    for (const k of ['ips', 'snips', 'dr'] as const) {
      expect(logged[k].ci_high! - logged[k].estimate!).toBeCloseTo(logged[k].estimate! - logged[k].ci_low!, 12);
    }
    // Greedy: nothing clipped; the interval widens upwards only by the mean weight's shortfall, if any.
    const g = sumsOf(decisions, target('greedy'), 100);
    const greedy = estimatesFromSums(g);
    expect(greedy.clipped_mass_share).toBe(0);
    expect(greedy.ips.ci_high! - greedy.ips.estimate! - z * greedy.ips.se!).toBeCloseTo(Math.max(0, 1 - g.w / g.items), 12);
  });
});

describe('insufficient_support', () => {
  const decisions = logDecisions(pool(20), 2000, 5, 0.05, (id) => (Number(id.slice(1)) % 5) / 5);

  it('a target far from the logging policy gets no number, with the reasons', () => {
    const e = estimatesFromSums(sumsOf(decisions, target('uniform')));
    expect(e.status).toBe('insufficient_support');
    expect(e.ips).toEqual({ estimate: null, se: null, ci_low: null, ci_high: null });
    expect(e.snips.estimate).toBeNull();
    expect(e.dr.estimate).toBeNull();
    expect(e.ess!).toBeLessThan(OPE_SUPPORT.minEss);
    expect(e.reasons.join('\n')).toMatch(/decision-level ESS \d+ is below 100/);
    expect(e.reasons.join('\n')).toMatch(/weights average 0\.\d+ per impression instead of 1/);
    // The diagnostics stay: an operator sees why.
    expect(e.mean_weight!).toBeLessThan(1 - OPE_SUPPORT.maxMissingMass);
    expect(e.clipped_mass_share!).toBeGreaterThan(0);
  });

  it('too few decisions: below the ESS threshold even for the logging policy itself', () => {
    const e = estimatesFromSums(sumsOf(decisions.slice(0, 80), target('logged')));
    expect(e.status).toBe('insufficient_support');
    expect(e.reasons).toHaveLength(1);
    expect(e.reasons[0]).toMatch(/decision-level ESS 80 is below 100/);
  });

  it('a target close to the logging policy is reported', () => {
    for (const name of ['logged', 'greedy', 'epsilon=0.05']) {
      const e = estimatesFromSums(sumsOf(decisions, target(name)));
      expect(e.status, name).toBe('ok');
      expect(e.reasons, name).toEqual([]);
      expect(e.ips.ci_low!, name).toBeLessThan(e.ips.ci_high!);
    }
  });

  it('a target whose weights run past the clip is refused on the clipped mass alone', () => {
    // Every decision identical: ESS = N and the mean weight is what the clip leaves.
    const s = emptySums();
    for (let i = 0; i < 400; i++)
      addDecision(
        s,
        [{ position: 0, p_exp: 0.005, is_greedy: false, n_remaining: 2, reward: 1, q_hat: 0, q_greedy: 0, q_mean: 0 }],
        target('uniform'),
      );
    // ρ = 0.5 / 0.005 = 100 = the clip: nothing above it yet.
    expect(estimatesFromSums(s).status).toBe('ok');
    const t = emptySums();
    for (let i = 0; i < 400; i++)
      addDecision(
        t,
        [{ position: 0, p_exp: 0.004, is_greedy: false, n_remaining: 2, reward: 1, q_hat: 0, q_greedy: 0, q_mean: 0 }],
        target('uniform'),
      );
    const e = estimatesFromSums(t);
    expect(e.status).toBe('insufficient_support');
    expect(e.reasons).toEqual(['20.0 % of the weight mass is above the clip']);
  });
});
