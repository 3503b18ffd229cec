// Checks the canary gate's stated error rates (docs/RUNBOOK.md "Release: canary gate") by
// simulation: thousands of simulated rollouts with known 5xx and slow-request rates go through the
// real decision function (scripts/lib/canary-stats.ts) exactly as deploy:auto drives it — steps
// 5 % and 25 %, one look a minute for an hour each (120 looks, the Bonferroni divisor), NO-GO at
// any look rolls back, GO at the last look of every step promotes to 100 %. Seeded, so the figures
// are reproducible; the bounds asserted are the RUNBOOK's, with room for simulation noise.
import { describe, expect, it } from 'vitest';
import { combine, compareVersions, DEFAULT_POLICY, type VersionCounts } from '../../scripts/lib/canary-stats';

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Rates {
  error: number;
  slow: number;
}

/** Draws for `n` requests: how many errored, how many were slow. */
function draw(rand: () => number, n: number, r: Rates): VersionCounts {
  let errors = 0;
  let slow = 0;
  for (let i = 0; i < n; i++) {
    if (rand() < r.error) errors++;
    if (rand() < r.slow) slow++;
  }
  return { requests: n, errors, slow };
}

const add = (a: VersionCounts, b: VersionCounts): VersionCounts => ({
  requests: a.requests + b.requests,
  errors: a.errors + b.errors,
  slow: a.slow + b.slow,
});

/** One rollout: 'promoted' or 'rolled back'. `perMinute`: all requests of the Worker per minute. */
function rollout(rand: () => number, perMinute: number, canary: Rates, stable: Rates): 'promoted' | 'rolled back' {
  for (const percent of [5, 25]) {
    const nCanary = Math.round((perMinute * percent) / 100);
    let c: VersionCounts = { requests: 0, errors: 0, slow: 0 };
    let s: VersionCounts = { requests: 0, errors: 0, slow: 0 };
    for (let look = 1; look <= 60; look++) {
      c = add(c, draw(rand, nCanary, canary));
      s = add(s, draw(rand, perMinute - nCanary, stable));
      const verdict = combine(compareVersions(c, s, DEFAULT_POLICY, look === 60).map((x) => x.verdict));
      if (verdict === 'no-go') return 'rolled back';
      if (look === 60 && verdict !== 'go') return 'rolled back';
    }
  }
  return 'promoted';
}

function rate(runs: number, seed: number, perMinute: number, canary: Rates, stable: Rates, outcome: 'promoted' | 'rolled back'): number {
  const rand = mulberry32(seed);
  let n = 0;
  for (let i = 0; i < runs; i++) if (rollout(rand, perMinute, canary, stable) === outcome) n++;
  return n / runs;
}

const STABLE: Rates = { error: 0.005, slow: 0.05 };
const RUNS = 1000;

describe('canary gate error rates (simulation through the real decision function)', () => {
  // 200 requests a minute: the canary serves 600 requests in its 5 % hour, just over the minimum.
  for (const perMinute of [200, 2000]) {
    it(`${perMinute} requests/min: false rollback ≤ 5 %, false promote ≤ 5 % at the margin, ~0 for a clearly bad canary`, () => {
      const healthy = rate(RUNS, 1, perMinute, STABLE, STABLE, 'rolled back');
      const atMargin = rate(RUNS, 2, perMinute, { error: STABLE.error + DEFAULT_POLICY.errorMargin, slow: 0.05 }, STABLE, 'promoted');
      const slowAtMargin = rate(RUNS, 3, perMinute, { error: 0.005, slow: 0.05 + DEFAULT_POLICY.slowMargin }, STABLE, 'promoted');
      const bad = rate(RUNS, 4, perMinute, { error: 0.05, slow: 0.05 }, STABLE, 'promoted');
      const slowBad = rate(RUNS, 5, perMinute, { error: 0.005, slow: 0.3 }, STABLE, 'promoted');
      console.log(
        JSON.stringify({
          perMinute,
          runs: RUNS,
          healthy_rolled_back: healthy,
          margin_5xx_promoted: atMargin,
          margin_slow_promoted: slowAtMargin,
          bad_5pct_promoted: bad,
          slow_30pct_promoted: slowBad,
        }),
      );
      expect(healthy).toBeLessThanOrEqual(0.05);
      expect(atMargin).toBeLessThanOrEqual(0.05);
      expect(slowAtMargin).toBeLessThanOrEqual(0.05);
      expect(bad).toBe(0);
      expect(slowBad).toBe(0);
    }, 120_000);
  }

  it('no data is never GO: a canary that served nothing is rolled back at the step’s end', () => {
    const none = { requests: 0, errors: 0, slow: 0 };
    const stable = { requests: 10_000, errors: 50, slow: 500 };
    expect(combine(compareVersions(none, stable, DEFAULT_POLICY, false).map((c) => c.verdict))).toBe('wait');
    expect(combine(compareVersions(none, stable, DEFAULT_POLICY, true).map((c) => c.verdict))).toBe('no-go');
    expect(combine([])).toBe('no-go');
  });
});
