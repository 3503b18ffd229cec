// The alert state machine: pending → firing after `for`, cancelled if it clears first, resolved
// after firing; too few samples are not judged.
import { describe, expect, it } from 'vitest';
import { breaches, observe, step } from '../../src/alerts/state';

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

describe('clear-for and no data (issue 20)', () => {
  const firing = { state: 'firing' as const, pendingSince: t(0) };

  it('observes breach / clear / no data; too few samples or no value is no data, never clear', () => {
    expect(observe(rule, { subject: 'a', value: 3, samples: 10 })).toBe('breach');
    expect(observe(rule, { subject: 'a', value: 1, samples: 10 })).toBe('clear');
    expect(observe(rule, { subject: 'a', value: 1, samples: 9 })).toBe('no_data');
    expect(observe(rule, { subject: 'a', value: null, samples: 100 })).toBe('no_data');
    expect(observe(rule, undefined)).toBe('no_data');
  });

  it('a firing alert resolves only after clear_for of uninterrupted clear evaluations', () => {
    const c1 = step(firing, 'clear', t(600), 120, 300);
    expect(c1).toEqual({ kind: 'hold', clearSince: t(600) });
    expect(step({ ...firing, clearSince: t(600) }, 'clear', t(840), 120, 300)).toEqual({ kind: 'hold', clearSince: t(600) });
    // A breach within clear_for continues the same episode and restarts the timer.
    expect(step({ ...firing, clearSince: t(600) }, 'breach', t(660), 120, 300)).toEqual({ kind: 'hold' });
    expect(step({ ...firing, clearSince: t(600) }, 'clear', t(900), 120, 300)).toEqual({
      kind: 'transition',
      from: 'firing',
      to: 'resolved',
    });
  });

  it('no data keeps a firing alert firing (and restarts its clear timer); a pending one is cancelled unpaged', () => {
    expect(step(firing, 'no_data', t(600), 120, 0)).toEqual({ kind: 'hold' });
    expect(step({ ...firing, clearSince: t(500) }, 'no_data', t(10_000), 120, 300)).toEqual({ kind: 'hold' });
    expect(step({ state: 'pending', pendingSince: t(0) }, 'no_data', t(60), 120)).toEqual({
      kind: 'transition',
      from: 'pending',
      to: 'cancelled',
    });
    expect(step(undefined, 'no_data', t(0), 0)).toEqual({ kind: 'none' });
  });
});
