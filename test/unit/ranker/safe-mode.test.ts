// Safe mode (guide §3) and unknown policies: deterministic slates, p_exp 0, explored false.
import { describe, expect, it } from 'vitest';
import { globalView, type RankFeatures, rank, SAFE_POLICY, surfaceView } from '../../../src/ranker';
import { decisionId } from './helpers';

const features: RankFeatures = {
  surface: surfaceView({
    surface: 'feed',
    generated_at: '2026-01-01T00:00:00Z',
    mean_reward: 0.1,
    stats: { p1: [100, 40], p2: [50, 10] },
    pools: { popular: ['p1', 'p2', 'g1'], recent: ['r1', 'p1'] },
  }),
  global: globalView({
    generated_at: '2026-01-01T00:00:00Z',
    pools: { global: ['g1', 'g2', 'g3'], recent: ['r2'] },
    priors: { g1: 0.9, g2: 0.8, g3: 0.7 },
  }),
};

const base = { limit: 7, policy: { version: 'epsilon_greedy_v1', epsilon: 0.5 }, safeMode: true, features };

describe('safe mode', () => {
  it('interleaves popular, recent and global pools, skipping duplicates, the same for every decision id', () => {
    const slates = [1, 2, 3, 4].map((i) => rank({ ...base, decisionId: decisionId(i) }));
    for (const d of slates) {
      expect(d.policy).toBe(SAFE_POLICY);
      expect(d.fallback).toBe('safe_mode');
      expect(d.epsilon).toBe(0);
      // popular p1, recent r1, global g1, popular p2, recent (p1 seen) r2, global g2, popular (g1 seen) → global g3
      expect(d.items.map((i) => i.candidate_id)).toEqual(['p1', 'r1', 'g1', 'p2', 'r2', 'g2', 'g3']);
      expect(d.items.map((i) => i.position)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(d.items.every((i) => i.p_exp === 0 && i.explored === false && i.ope === undefined)).toBe(true);
      expect(d.items.map((i) => i.candidate_id)).toEqual(slates[0]!.items.map((i) => i.candidate_id));
    }
  });

  it('stops when the pools run out (7 distinct ids in them)', () => {
    const d = rank({ ...base, limit: 50, decisionId: decisionId(1) });
    expect(d.items).toHaveLength(7);
  });

  it("orders the caller's candidates by the caller's score (ties by id), ignoring learned stats", () => {
    const candidates = [{ id: 'p2', score: 0.2 }, { id: 'x', score: 0.9 }, { id: 'p1', score: 0.2 }, { id: 'g1' }];
    const d = rank({ ...base, limit: 3, candidates, decisionId: decisionId(5) });
    // g1 has no caller score: its catalog prior (0.9) ties with x; 'g1' < 'x'.
    expect(d.items.map((i) => i.candidate_id)).toEqual(['g1', 'x', 'p1']);
    expect(d.items.every((i) => i.p_exp === 0 && !i.explored)).toBe(true);
  });

  it('an unknown policy version falls back to the same safe behaviour', () => {
    const d = rank({ ...base, safeMode: false, policy: { version: 'epsilon_greedy_v9', epsilon: 0.5 }, decisionId: decisionId(8) });
    expect(d.policy).toBe(SAFE_POLICY);
    expect(d.fallback).toBe('unknown_policy');
    expect(d.items.map((i) => i.candidate_id)).toEqual(['p1', 'r1', 'g1', 'p2', 'r2', 'g2', 'g3']);
    // Object.prototype names are not policies either.
    expect(rank({ ...base, safeMode: false, policy: { version: 'constructor', epsilon: 0 }, decisionId: decisionId(9) }).fallback).toBe(
      'unknown_policy',
    );
  });

  it('without safe mode the pools are ranked by the learned estimate', () => {
    const d = rank({ ...base, safeMode: false, policy: { version: 'epsilon_greedy_v1', epsilon: 0 }, limit: 3, decisionId: decisionId(3) });
    expect(d.policy).toBe('epsilon_greedy_v1');
    expect(d.fallback).toBeUndefined();
    // g1..g3 have catalog priors 0.9/0.8/0.7 and no impressions; p1 = (40 + 10·0.1)/110.
    expect(d.items.map((i) => i.candidate_id)).toEqual(['g1', 'g2', 'g3']);
    expect(d.items.every((i) => i.p_exp === 1)).toBe(true);
  });
});
