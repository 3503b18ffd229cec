// npm run sim's machinery at a CI-friendly size: the exact truth it scores estimates against, and
// CI coverage per OPE target over independent simulated learning runs (scripts/lib/sim-*.ts). The
// full-size figures (200 runs of 20,000 decisions) are `npm run sim -- --json`.
import { describe, expect, it } from 'vitest';
import { coverage, ESTIMATORS } from '../../scripts/lib/sim-coverage';
import { type RunResult, runSim } from '../../scripts/lib/sim-run';
import { epsilonGreedySlateValue } from '../../scripts/lib/sim-truth';
import { makeWorld } from '../../scripts/lib/sim-world';
import { better, OPE_TARGETS, positionDistribution, type ScoredCandidate } from '../../src/ranker';

/** Expected Σ rate over every slate the policy can produce, by brute-force enumeration. */
function enumerated(cands: ScoredCandidate[], rate: Map<string, number>, k: number, eps: number): number {
  const go = (remaining: ScoredCandidate[], depth: number): number => {
    if (depth === k || remaining.length === 0) return 0;
    let v = 0;
    for (const [id, p] of positionDistribution(remaining, eps)) {
      if (p === 0) continue;
      v +=
        p *
        (rate.get(id)! +
          go(
            remaining.filter((c) => c.id !== id),
            depth + 1,
          ));
    }
    return v;
  };
  return go(cands, 0);
}

describe('sim truth', () => {
  it('equals the enumerated expectation of the epsilon-greedy slate, ties and all', () => {
    const cands: ScoredCandidate[] = [0.5, 0.2, 0.5, 0.9, 0.1, 0.3, 0.2].map((score, i) => ({ id: `c${i}`, score }));
    const rate = new Map(cands.map((c, i) => [c.id, [0.3, 0.05, 0.7, 0.2, 0.9, 0.4, 0.15][i]!]));
    const order = [...cands].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    for (const k of [1, 3, 5, 7]) {
      for (const eps of [0, 0.08, 0.35, 1]) {
        expect(
          epsilonGreedySlateValue(
            order.map((c) => rate.get(c.id)!),
            k,
            eps,
          ),
          `k=${k} ε=${eps}`,
        ).toBeCloseTo(enumerated(cands, rate, k, eps), 12);
      }
    }
  });
});

describe('CI coverage per target (CI size: 100 runs of 2,000 decisions)', () => {
  const world = makeWorld(50, 10, '1');
  const cfg = { slate: 10, epsilon: 0.08, rollupEvery: 500, targets: OPE_TARGETS };
  function* runs(): Generator<RunResult> {
    for (let r = 0; r < 100; r++) yield runSim(world, cfg, 2_000, `ci:${r}`);
  }
  const cov = coverage(OPE_TARGETS, runs());

  it('the targets near the logging policy are reported (nearly always) and their intervals hold the truth', () => {
    let covered = 0;
    let reported = 0;
    for (const name of ['greedy', 'logged', 'epsilon=0.05', 'epsilon=0.1', 'epsilon=0.2']) {
      const c = cov.get(name)!;
      // A run may draw a decision that explores far more than usual and pushes a target's weight
      // mass over the clip: that run reports insufficient_support, rightly.
      expect(c.reported_share, name).toBeGreaterThanOrEqual(0.95);
      for (const k of ESTIMATORS) {
        // Nominal 0.95; 0.85 is 4.6 Monte-Carlo standard errors below it at 100 runs.
        expect(c[k].coverage!, `${name} ${k}`).toBeGreaterThanOrEqual(0.85);
        covered += c[k].covered;
        reported += c[k].reported;
      }
    }
    expect(covered / reported).toBeGreaterThanOrEqual(0.92);
  });

  it('uniform and epsilon=0.5 are refused in every run: their intervals would be mostly bias bound', () => {
    for (const name of ['uniform', 'epsilon=0.5']) {
      const c = cov.get(name)!;
      expect(c.reported_share, name).toBe(0);
      for (const k of ESTIMATORS) expect(c[k].reported, `${name} ${k}`).toBe(0);
      // Without the gate the interval still holds the truth (it is widened by the missing weight
      // mass) but spans a good part of the reward range: honest, and useless.
      expect(c.ungated.ips.coverage!, name).toBeGreaterThanOrEqual(0.9);
      expect(c.ungated.ips.mean_width!, name).toBeGreaterThan(5 * cov.get('greedy')!.ips.mean_width!);
    }
  });
});
