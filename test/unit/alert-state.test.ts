// The alert state machine: pending → firing after `for`, cancelled if it clears first, resolved
// after firing; too few samples are not judged.
import { describe, expect, it } from 'vitest';
import { breaches, step } from '../../src/alerts/state';

const t = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);
const rule = { comparator: '>' as const, threshold: 2, minSamples: 10 };

describe('breaches', () => {
  it('compares and ignores low-sample or missing measurements', () => {
    expect(breaches(rule, { subject: 'a', value: 2.5, samples: 10 })).toBe(true);
    expect(breaches(rule, { subject: 'a', value: 2, samples: 10 })).toBe(false);
    expect(breaches(rule, { subject: 'a', value: 9, samples: 9 })).toBe(false);
    expect(breaches(rule, { subject: 'a', value: null, samples: 100 })).toBe(false);
    expect(breaches(rule, undefined)).toBe(false);
    expect(breaches({ ...rule, comparator: '<=' }, { subject: 'a', value: 2, samples: 10 })).toBe(true);
  });
});

describe('step', () => {
  it('walks pending → firing → resolved with a `for` duration', () => {
    expect(step(undefined, false, t(0), 120)).toEqual({ kind: 'none' });
    expect(step(undefined, true, t(0), 120)).toEqual({ kind: 'open', to: 'pending' });
    const pending = { state: 'pending' as const, pendingSince: t(0) };
    expect(step(pending, true, t(60), 120)).toEqual({ kind: 'hold' });
    expect(step(pending, true, t(120), 120)).toEqual({ kind: 'transition', from: 'pending', to: 'firing' });
    const firing = { state: 'firing' as const, pendingSince: t(0) };
    expect(step(firing, true, t(600), 120)).toEqual({ kind: 'hold' });
    expect(step(firing, false, t(660), 120)).toEqual({ kind: 'transition', from: 'firing', to: 'resolved' });
  });

  it('a breach that clears before `for` is cancelled, never fired (no flapping pages)', () => {
    expect(step({ state: 'pending', pendingSince: t(0) }, false, t(60), 120)).toEqual({
      kind: 'transition',
      from: 'pending',
      to: 'cancelled',
    });
  });

  it('for = 0 fires at once', () => {
    expect(step(undefined, true, t(0), 0)).toEqual({ kind: 'open', to: 'firing' });
  });
});
