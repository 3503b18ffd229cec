// The decision RNG: replayable from the id alone, and uniform enough for exploration.
import { describe, expect, it } from 'vitest';
import { rngForDecision } from '../../../src/ranker';
import { decisionId } from './helpers';

describe('rngForDecision', () => {
  it('replays the same stream for the same id (case-insensitive) and differs across ids', () => {
    const id = 'A0B1C2D3-0000-4000-8000-000000000001';
    const a = rngForDecision(id);
    const b = rngForDecision(id.toLowerCase());
    const c = rngForDecision('a0b1c2d3-0000-4000-8000-000000000002');
    const sa = Array.from({ length: 50 }, a);
    expect(Array.from({ length: 50 }, b)).toEqual(sa);
    expect(Array.from({ length: 50 }, c)).not.toEqual(sa);
  });

  it('draws in [0, 1) with mean ≈ 1/2 and flat deciles over many decisions', () => {
    const bins = new Array(10).fill(0);
    let sum = 0;
    const N = 50_000;
    for (let i = 0; i < N; i++) {
      const u = rngForDecision(decisionId(i))();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
      bins[Math.floor(u * 10)]++;
    }
    // σ of the mean of N uniforms is 1/sqrt(12N) ≈ 0.0013; allow 5σ.
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.0065);
    // Each decile ~ Binomial(N, 0.1): σ ≈ 67; allow 5σ.
    for (const b of bins) expect(Math.abs(b - N / 10)).toBeLessThan(340);
    // 50,000 decisions with two expects each: ~1.5 s alone, 4.9–5.1 s while the 2-core machine is
    // busy (seen in .ci/run), at vitest's 5 s default.
  }, 60_000);
});
