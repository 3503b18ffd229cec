// Sticky percentage buckets: stable, in range, monotone in the percentage, independent per flag.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLAG_KEYS, type FlagKey, parseFlag } from '../../src/flags/definitions';
import { bucket, evaluateFlag } from '../../src/flags/rollout';

const uuid = fc.uuid();
const flagKey = fc.constantFrom(...FLAG_KEYS);
const percent = fc.integer({ min: 0, max: 100 });

/** global.safe_mode on, except off for `p` percent of users (the canary of guide §5). */
function safeModeCanary(p: number) {
  const parsed = parseFlag('global.safe_mode', { enabled: true, rollout: { percent: p, value: { enabled: false } } });
  if (!parsed.success) throw new Error('test value must be valid');
  return parsed.data;
}
const inCanary = (p: number, user: string) => evaluateFlag('global.safe_mode', safeModeCanary(p), user).enabled === false;

/** Sequential ids: the worst case for a weak hash (they differ only in the last hex digits). */
const sequentialIds = (n: number) => Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

describe('bucket(flag key, user id)', () => {
  it('is an integer in 0–99, the same on every call and for either case of the UUID', () => {
    fc.assert(
      fc.property(flagKey, uuid, (key, user) => {
        const b = bucket(key, user);
        expect(Number.isInteger(b) && b >= 0 && b <= 99).toBe(true);
        expect(bucket(key, user)).toBe(b);
        expect(bucket(key, user.toUpperCase())).toBe(b);
      }),
      { numRuns: 5_000 },
    );
  });

  // Pinned values: a change of the hash would silently reshuffle every running canary, so it
  // must be a deliberate decision that updates these.
  it.each([
    ['global.safe_mode', '00000000-0000-0000-0000-000000000001', 81],
    ['global.safe_mode', '7f1c2d9e-3b4a-4c5d-8e6f-0a1b2c3d4e5f', 15],
    ['ranker.policy', '00000000-0000-0000-0000-000000000001', 25],
    ['ranker.policy', '7f1c2d9e-3b4a-4c5d-8e6f-0a1b2c3d4e5f', 77],
    ['crush_mode.enabled', 'ffffffff-ffff-4fff-bfff-ffffffffffff', 42],
  ] as const)('bucket(%s, %s) = %i across releases', (key, user, expected) => {
    expect(bucket(key, user)).toBe(expected);
  });

  it('spreads even sequential ids evenly: each percentage gets its share (±1.5 points)', () => {
    const ids = sequentialIds(20_000);
    for (const key of FLAG_KEYS) {
      for (const p of [1, 5, 25, 50, 90]) {
        const share = ids.filter((id) => bucket(key, id) < p).length / ids.length;
        expect(Math.abs(share - p / 100), `${key} at ${p} %: ${share}`).toBeLessThan(0.015);
      }
    }
  });

  it('buckets each flag independently: two 5 % canaries share about 5 % of their users, not all', () => {
    const ids = sequentialIds(20_000);
    const a = new Set(ids.filter((id) => bucket('global.safe_mode', id) < 5));
    const both = ids.filter((id) => a.has(id) && bucket('ranker.policy', id) < 5).length;
    expect(both / a.size).toBeLessThan(0.15);
  });
});

describe('rollout evaluation', () => {
  it('is monotone: a user in at p stays in at every p2 ≥ p (5 → 25 → 100 keeps everyone)', () => {
    fc.assert(
      fc.property(uuid, percent, percent, (user, x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        if (inCanary(lo, user)) expect(inCanary(hi, user)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('over many ids, 5 % ⊆ 25 % ⊆ 100 % = everyone, and 0 % = nobody', () => {
    fc.assert(
      fc.property(fc.uniqueArray(uuid, { minLength: 500, maxLength: 2_000 }), (users) => {
        const at = (p: number) => new Set(users.filter((u) => inCanary(p, u)));
        const [s0, s5, s25, s100] = [at(0), at(5), at(25), at(100)];
        expect(s0.size).toBe(0);
        for (const u of s5) expect(s25.has(u)).toBe(true);
        for (const u of s25) expect(s100.has(u)).toBe(true);
        expect(s100.size).toBe(users.length);
      }),
      { numRuns: 30 },
    );
  });

  it('a user is in exactly when bucket < percent', () => {
    fc.assert(
      fc.property(uuid, percent, (user, p) => {
        expect(inCanary(p, user)).toBe(bucket('global.safe_mode', user) < p);
      }),
      { numRuns: 5_000 },
    );
  });

  it('anonymous callers always get the base value, whatever the percentage', () => {
    fc.assert(
      fc.property(percent, (p) => {
        expect(evaluateFlag('global.safe_mode', safeModeCanary(p), undefined)).toEqual({ enabled: true });
      }),
    );
  });

  it('merges the rollout value over the base: a policy canary changes only the version', () => {
    const parsed = parseFlag('ranker.policy', {
      version: 'epsilon_greedy_v1',
      epsilon: 0.08,
      rollout: { percent: 100, value: { version: 'epsilon_greedy_v2' } },
    });
    expect(parsed.success).toBe(true);
    const flag = parsed.data!;
    expect(evaluateFlag('ranker.policy', flag, crypto.randomUUID())).toEqual({ version: 'epsilon_greedy_v2', epsilon: 0.08 });
    expect(evaluateFlag('ranker.policy', flag, undefined)).toEqual({ version: 'epsilon_greedy_v1', epsilon: 0.08 });
  });
});

describe('stored value validation', () => {
  const invalid: [FlagKey, unknown, string][] = [
    ['global.safe_mode', { enabled: 'yes' }, 'enabled'],
    ['global.safe_mode', { enabled: true, rollout: { percent: 101, value: { enabled: false } } }, 'rollout.percent'],
    ['global.safe_mode', { enabled: true, rollout: { percent: 2.5, value: { enabled: false } } }, 'rollout.percent'],
    ['global.safe_mode', { enabled: true, rollout: { percent: 5, value: { enabled: 'no' } } }, 'rollout.value.enabled'],
    ['global.safe_mode', { enabled: true, rollout: { percent: 5 } }, 'rollout.value'],
    ['global.safe_mode', { enabled: true, rollout: { percent: 5, value: {}, salt: 'x' } }, 'rollout'],
    [
      'global.safe_mode',
      { enabled: true, rollout: { percent: 5, value: { rollout: { percent: 1, value: {} } } } },
      'rollout.value.rollout',
    ],
    ['ranker.policy', { version: 'v', epsilon: 0.1, rollout: { percent: 5, value: { epsilon: 2 } } }, 'rollout.value.epsilon'],
    ['ranker.policy', { version: '', epsilon: 0.1 }, 'version'],
    ['learning.enabled', 'true', '(root)'],
  ];
  it.each(invalid)('%s rejects %j (issue at %s)', (key, value, path) => {
    const parsed = parseFlag(key, value);
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.') || '(root)');
    expect(paths.some((p) => p.startsWith(path))).toBe(true);
  });

  it('accepts the guide values and a canary, and returns frozen values', () => {
    const parsed = parseFlag('global.safe_mode', { enabled: true, rollout: { percent: 5, value: { enabled: false } } });
    expect(parsed.data).toEqual({ base: { enabled: true }, rollout: { percent: 5, value: { enabled: false } } });
    expect(Object.isFrozen(parsed.data!.base)).toBe(true);
    expect(parseFlag('ranker.policy', { version: 'epsilon_greedy_v1', epsilon: 0.08 }).success).toBe(true);
  });
});
