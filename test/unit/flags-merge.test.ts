// The three-way merge of one flag (src/flags/merge.ts), case by case.
import { describe, expect, it } from 'vitest';
import { applyWrite, type KvSide, type MergeInput, mergeFlag, type PgSide } from '../../src/flags/merge';

const ON = { enabled: true };
const OFF = { enabled: false };
const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:00:30Z');
const T2 = new Date('2026-01-01T00:01:00Z');

const pg = (value: unknown, at = T1, by: string | null = 'sql:postgres'): PgSide => ({ state: 'valid', value, at, by });
const kv = (value: unknown, meta: { rev?: number; updated_at?: string } | null = null): KvSide => ({ state: 'valid', value, meta });
const input = (over: Partial<MergeInput>): MergeInput => ({
  key: 'global.safe_mode',
  base: OFF,
  rev: 3,
  pg: pg(OFF, T0),
  kv: kv(OFF, { rev: 3 }),
  observedAt: T2,
  rejected: {},
  actor: 'cron:flag-sync',
  ...over,
});

describe('mergeFlag', () => {
  it('nothing changed: nothing to do, no ledger row', () => {
    const plan = mergeFlag(input({}));
    expect(plan).toMatchObject({ outcome: 'in_sync', target: OFF, baseChanged: false, putKv: false, ledger: [] });
    expect(plan.pg).toBeUndefined();
  });

  it('keys in a different order or spacing are the same value', () => {
    const plan = mergeFlag(
      input({ base: { version: 'a', epsilon: 0.1 }, pg: pg({ epsilon: 0.1, version: 'a' }), kv: kv({ version: 'a', epsilon: 0.1 }) }),
    );
    expect(plan.outcome).toBe('in_sync');
  });

  it('SQL changed: push to KV, ledger row with path sql', () => {
    const plan = mergeFlag(input({ pg: pg(ON, T1, 'sql:postgres') }));
    expect(plan).toMatchObject({ outcome: 'sql', target: ON, baseChanged: true, source: 'sql', putKv: true, targetAt: T1 });
    expect(plan.pg).toBeUndefined();
    expect(plan.ledger).toEqual([
      expect.objectContaining({
        actor: 'sql',
        action: 'flag.set',
        oldValue: OFF,
        newValue: ON,
        metadata: expect.objectContaining({ path: 'sql', updated_by: 'sql:postgres' }),
      }),
    ]);
  });

  it('KV changed (operator put, no metadata): write Postgres dated when observed, ledger path kv', () => {
    const plan = mergeFlag(input({ kv: kv(ON) }));
    expect(plan).toMatchObject({ outcome: 'kv', target: ON, baseChanged: true, source: 'kv', putKv: false });
    expect(plan.pg).toEqual({ value: ON, at: T2, writer: 'kv' });
    expect(plan.ledger).toEqual([expect.objectContaining({ actor: 'kv', action: 'flag.set', oldValue: OFF, newValue: ON })]);
  });

  it('KV still holding one of our older writes (lower rev) is stale, not a change: KV is repaired', () => {
    const plan = mergeFlag(input({ base: ON, rev: 4, pg: pg(ON), kv: kv(OFF, { rev: 3 }) }));
    expect(plan).toMatchObject({ outcome: 'in_sync', target: ON, putKv: true, baseChanged: false, ledger: [] });
  });

  it('KV missing: put the truth back, nothing recorded as a change', () => {
    const plan = mergeFlag(input({ kv: { state: 'missing' } }));
    expect(plan).toMatchObject({ outcome: 'in_sync', target: OFF, putKv: true, ledger: [] });
  });

  it('both changed to the same value: adopted, one ledger row per path', () => {
    const plan = mergeFlag(input({ pg: pg(ON), kv: kv(ON) }));
    expect(plan).toMatchObject({ outcome: 'both', target: ON, putKv: false, baseChanged: true });
    expect(plan.pg).toBeUndefined();
    expect(plan.ledger.map((l) => l.metadata?.path)).toEqual(['sql', 'kv']);
  });

  it('conflict, SQL newer: Postgres wins, KV overwritten, both changes recorded', () => {
    const plan = mergeFlag(input({ pg: pg(ON, T2), kv: kv({ enabled: true, note: 'x' }, { updated_at: T1.toISOString() }) }));
    expect(plan).toMatchObject({ outcome: 'conflict', target: ON, putKv: true, source: 'sql' });
    expect(plan.pg).toBeUndefined();
    expect(plan.conflict).toMatchObject({ winner: 'sql', loser: 'kv', kv: { dated_by: 'metadata' } });
    expect(plan.ledger.map((l) => l.action)).toEqual(['flag.set', 'flag.conflict']);
    expect(plan.ledger[1]).toMatchObject({ oldValue: { enabled: true, note: 'x' }, newValue: ON });
  });

  it('conflict, KV newer (put without metadata is dated when observed): KV wins, Postgres written', () => {
    const plan = mergeFlag(input({ pg: pg(ON, T1), kv: kv({ enabled: true, note: 'kv' }), observedAt: T2 }));
    expect(plan).toMatchObject({ outcome: 'conflict', target: { enabled: true, note: 'kv' }, putKv: false, source: 'kv' });
    expect(plan.pg).toMatchObject({ value: { enabled: true, note: 'kv' }, writer: 'kv' });
    expect(plan.conflict).toMatchObject({ winner: 'kv', loser: 'sql', kv: { dated_by: 'observed' } });
  });

  it('conflict at the same instant: Postgres (the truth) wins', () => {
    const plan = mergeFlag(input({ pg: pg(ON, T1), kv: kv({ enabled: true, x: 1 }, { updated_at: T1.toISOString() }) }));
    expect(plan.conflict).toMatchObject({ winner: 'sql' });
  });

  it('invalid value in Postgres: not adopted, recorded once, KV keeps the last good value', () => {
    const bad: PgSide = { state: 'invalid', raw: { enabled: 'yes' }, issues: [] };
    const first = mergeFlag(input({ pg: bad }));
    expect(first).toMatchObject({ outcome: 'in_sync', target: OFF, putKv: false, rejected: { sql: { enabled: 'yes' } } });
    expect(first.ledger).toEqual([expect.objectContaining({ actor: 'sql', action: 'flag.rejected', newValue: { enabled: 'yes' } })]);
    const again = mergeFlag(input({ pg: bad, rejected: first.rejected }));
    expect(again.ledger).toEqual([]);
    expect(again.rejected).toEqual({ sql: { enabled: 'yes' } });
  });

  it('invalid value in KV: not adopted, KV repaired with the truth, recorded', () => {
    const plan = mergeFlag(input({ kv: { state: 'invalid', raw: 'not json', issues: [] } }));
    expect(plan).toMatchObject({ outcome: 'in_sync', target: OFF, putKv: true });
    expect(plan.ledger).toEqual([expect.objectContaining({ actor: 'kv', action: 'flag.rejected', newValue: 'not json' })]);
  });

  it('invalid KV while SQL changed: SQL change pushed over it', () => {
    const plan = mergeFlag(input({ pg: pg(ON), kv: { state: 'invalid', raw: { enabled: 1 }, issues: [] } }));
    expect(plan).toMatchObject({ outcome: 'sql', target: ON, putKv: true });
    expect(plan.ledger.map((l) => l.action)).toEqual(['flag.rejected', 'flag.set']);
  });

  it('Postgres row deleted: re-created from the base and recorded', () => {
    const plan = mergeFlag(input({ pg: { state: 'missing' } }));
    expect(plan.pg).toEqual({ value: OFF, writer: 'cron:flag-sync' });
    expect(plan.ledger).toEqual([expect.objectContaining({ action: 'flag.restored' })]);
  });

  it('never synced: Postgres is the truth and KV gets it', () => {
    const plan = mergeFlag(input({ base: undefined, rev: 0, pg: pg(ON), kv: { state: 'missing' } }));
    expect(plan).toMatchObject({ outcome: 'init', target: ON, baseChanged: true, putKv: true, ledger: [] });
  });

  it('never synced and no Postgres row: a valid KV value creates it (path kv)', () => {
    const plan = mergeFlag(input({ base: undefined, rev: 0, pg: { state: 'missing' }, kv: kv(ON) }));
    expect(plan).toMatchObject({ outcome: 'kv', target: ON });
    expect(plan.pg).toMatchObject({ value: ON, writer: 'kv' });
  });
});

describe('mergeFlag: Postgres changes the feature_flags trigger already recorded (migration 0730)', () => {
  const recorded = (value: unknown, at = T1): PgSide => ({ state: 'valid', value, at, by: 'sql:postgres', recorded: true });

  it('SQL changed and recorded: pushed to KV exactly as before, no second ledger row', () => {
    const plan = mergeFlag(input({ pg: recorded(ON) }));
    expect(plan).toMatchObject({ outcome: 'sql', target: ON, baseChanged: true, source: 'sql', putKv: true, targetAt: T1 });
    expect(plan.ledger).toEqual([]);
  });

  it('both changed to the same value: only the KV side is new to the ledger', () => {
    const plan = mergeFlag(input({ pg: recorded(ON), kv: kv(ON) }));
    expect(plan).toMatchObject({ outcome: 'both', target: ON, baseChanged: true });
    expect(plan.ledger.map((l) => [l.actor, l.metadata?.path])).toEqual([['kv', 'kv']]);
  });

  it('conflict, the recorded SQL change wins: only the conflict is new', () => {
    const plan = mergeFlag(input({ pg: recorded(ON, T2), kv: kv({ enabled: true, note: 'x' }, { updated_at: T1.toISOString() }) }));
    expect(plan).toMatchObject({ outcome: 'conflict', target: ON, putKv: true, source: 'sql' });
    expect(plan.ledger.map((l) => l.action)).toEqual(['flag.conflict']);
  });

  it('conflict, KV wins over a recorded SQL change: the KV change and the conflict are recorded', () => {
    const plan = mergeFlag(input({ pg: recorded(ON, T1), kv: kv({ enabled: true, note: 'kv' }), observedAt: T2 }));
    expect(plan).toMatchObject({ outcome: 'conflict', source: 'kv' });
    expect(plan.ledger.map((l) => [l.actor, l.action])).toEqual([
      ['kv', 'flag.set'],
      ['cron:flag-sync', 'flag.conflict'],
    ]);
  });
});

describe('applyWrite (API/CLI on top of a merge)', () => {
  it('records an unsynced KV change first, then the write, old = the value in force', () => {
    const plan = mergeFlag(input({ kv: kv(ON) }));
    expect(
      applyWrite(
        plan,
        { enabled: false, rollout: { percent: 5, value: { enabled: true } } },
        { actor: 'cli', path: 'cli', reason: 'canary' },
      ),
    ).toBe(true);
    expect(plan.ledger.map((l) => [l.actor, l.oldValue, l.newValue])).toEqual([
      ['kv', OFF, ON],
      ['cli', ON, { enabled: false, rollout: { percent: 5, value: { enabled: true } } }],
    ]);
    expect(plan).toMatchObject({ putKv: true, baseChanged: true, source: 'cli' });
    expect(plan.pg).toMatchObject({ writer: 'cli' });
  });

  it('writing the value already in force changes nothing', () => {
    const plan = mergeFlag(input({}));
    expect(applyWrite(plan, { enabled: false }, { actor: 'api:service', path: 'api' })).toBe(false);
    expect(plan).toMatchObject({ baseChanged: false, putKv: false, ledger: [] });
  });
});
