// The three-way merge of one flag, as a pure function (no I/O): given the merge base (the value
// Postgres and KV last agreed on), the Postgres row and the KV entry, decide the new truth, what
// to write where, and which ledger rows record it. src/flags/sync.ts feeds it and applies its plan.
//
//   neither side changed      → nothing (repair KV if it is missing, invalid or lagging)
//   only Postgres changed     → push to KV                       (ledger: path sql*)
//   only KV changed           → write to Postgres                (ledger: path kv)
//   both changed, same value  → adopt it                         (ledger: one row per path*)
//   both changed, different   → newer change wins, loser overwritten (ledger: winner* + flag.conflict)
//
// * A Postgres change is normally in the ledger already: the feature_flags trigger (migration
// 0730) records every change made outside our writers the moment it is made, and the sync marks
// such a side `recorded`. The merge writes the path-sql row only for a change the trigger did not
// record (made before 0730, or by a session that set app.flag_writer itself), so nothing is lost
// and nothing is written twice.
//
// "Changed" means "valid and different from the base". An invalid value on either side is never
// adopted: it is rejected with an error log and a ledger row (once per distinct value), KV is
// repaired to the truth, Postgres is left for the operator to fix (it is their statement).
// A KV entry still carrying the metadata of one of our older writes (rev < base rev) is a
// location that has not seen our latest write yet: stale, not a change.
// Pure on purpose (no Env, no database client): unit-tested in Node.
import { z } from 'zod';
import type { LedgerEntry } from '../db/ledger-entry';
import { sameJson } from './canonical';
import type { FlagKey } from './definitions';

/** KV metadata of our own writes (an operator's `wrangler kv key put` has none). */
export const KvMetaSchema = z.object({
  rev: z.number().int().nonnegative().optional(),
  updated_at: z.iso.datetime({ offset: true }).optional(),
  source: z.string().optional(),
});
export type KvMeta = z.infer<typeof KvMetaSchema>;

export type PgSide =
  | { state: 'missing' }
  | { state: 'invalid'; raw: unknown; issues: unknown }
  | {
      state: 'valid';
      value: unknown;
      at: Date;
      by: string | null;
      /** The ledger already holds this change (the trigger's row for this key has this value). */
      recorded?: boolean;
    };

export type KvSide =
  | { state: 'missing' }
  | { state: 'invalid'; raw: unknown; issues: unknown }
  | { state: 'valid'; value: unknown; meta: KvMeta | null };

export interface MergeInput {
  key: FlagKey;
  /** Last synced value; undefined when this key was never synced. */
  base: unknown;
  rev: number;
  pg: PgSide;
  kv: KvSide;
  /** When the KV entry was read: the latest an operator's put without metadata can have happened. */
  observedAt: Date;
  /** Invalid values already reported per side (so each is written to the ledger once). */
  rejected: { sql?: unknown; kv?: unknown };
  /** Who runs the merge, for conflict and repair rows ('cron:flag-sync', 'api:service', …). */
  actor: string;
}

export type Outcome = 'in_sync' | 'init' | 'sql' | 'kv' | 'both' | 'conflict' | 'empty';

export interface MergePlan {
  key: FlagKey;
  outcome: Outcome;
  /** The truth after this merge (undefined: nothing valid anywhere; evaluation uses the default). */
  target: unknown;
  /** The base changed: bump rev, record source. */
  baseChanged: boolean;
  source?: string;
  /** Write this value to feature_flags (dated `at` when known; `writer` becomes updated_by). */
  pg?: { value: unknown; at?: Date; writer: string };
  /** Put `target` into KV after the transaction commits. */
  putKv: boolean;
  /** Dated change time of the target, for the KV metadata. */
  targetAt?: Date;
  ledger: LedgerEntry[];
  conflict?: Record<string, unknown>;
  rejected: { sql?: unknown; kv?: unknown };
}

const set = (
  key: string,
  path: string,
  actor: string,
  oldValue: unknown,
  newValue: unknown,
  metadata: Record<string, unknown> = {},
): LedgerEntry => ({
  actor,
  action: 'flag.set',
  target: key,
  oldValue: oldValue ?? null,
  newValue,
  metadata: { path, ...metadata },
});

function kvDated(kv: Extract<KvSide, { state: 'valid' }>, observedAt: Date): { at: Date; from: 'metadata' | 'observed' } {
  const stamped = kv.meta?.updated_at ? new Date(kv.meta.updated_at) : undefined;
  return stamped && !Number.isNaN(stamped.getTime()) ? { at: stamped, from: 'metadata' } : { at: observedAt, from: 'observed' };
}

export function mergeFlag(input: MergeInput): MergePlan {
  const { key, base, rev, pg, kv, observedAt, actor } = input;
  const plan: MergePlan = { key, outcome: 'in_sync', target: base, baseChanged: false, putKv: false, ledger: [], rejected: {} };

  // Rejections first: recorded whatever the outcome.
  if (pg.state === 'invalid') {
    plan.rejected.sql = pg.raw;
    if (input.rejected.sql === undefined || !sameJson(input.rejected.sql, pg.raw)) {
      plan.ledger.push({
        actor: 'sql',
        action: 'flag.rejected',
        target: key,
        oldValue: base ?? null,
        newValue: pg.raw,
        reason: 'invalid value in feature_flags; the edge keeps the last good value',
        metadata: { path: 'sql', issues: pg.issues },
      });
    }
  }
  if (kv.state === 'invalid') {
    plan.rejected.kv = kv.raw;
    if (input.rejected.kv === undefined || !sameJson(input.rejected.kv, kv.raw)) {
      plan.ledger.push({
        actor: 'kv',
        action: 'flag.rejected',
        target: key,
        oldValue: base ?? null,
        newValue: kv.raw,
        reason: 'invalid value in KV FLAGS; replaced by the last good value',
        metadata: { path: 'kv', issues: kv.issues },
      });
    }
  }

  const kvStale = kv.state === 'valid' && kv.meta?.rev !== undefined && kv.meta.rev < rev;
  const pgVal = pg.state === 'valid' ? pg.value : undefined;
  const kvVal = kv.state === 'valid' && !kvStale ? kv.value : undefined;
  const kvHolds = (v: unknown) => kv.state === 'valid' && sameJson(kv.value, v);

  if (base === undefined) {
    // Never synced: Postgres is the truth. KV alone counts only when Postgres has no row at all.
    if (pgVal !== undefined) {
      Object.assign(plan, {
        outcome: 'init',
        target: pgVal,
        baseChanged: true,
        source: 'sql',
        putKv: !kvHolds(pgVal),
        targetAt: pg.state === 'valid' ? pg.at : undefined,
      });
    } else if (kvVal !== undefined) {
      const dated = kvDated(kv as Extract<KvSide, { state: 'valid' }>, observedAt);
      Object.assign(plan, { outcome: 'kv', target: kvVal, baseChanged: true, source: 'kv', targetAt: dated.at });
      if (pg.state === 'missing') plan.pg = { value: kvVal, at: dated.at, writer: 'kv' };
      plan.ledger.push(set(key, 'kv', 'kv', null, kvVal));
    } else {
      plan.outcome = 'empty';
      plan.target = undefined;
    }
    return plan;
  }

  const pgChanged = pgVal !== undefined && !sameJson(pgVal, base);
  const kvChanged = kvVal !== undefined && !sameJson(kvVal, base);

  if (!pgChanged && !kvChanged) {
    plan.putKv = !kvHolds(base);
    if (pg.state === 'missing') {
      // Someone deleted the row: re-create it from the base rather than lose the flag.
      plan.pg = { value: base, writer: actor };
      plan.ledger.push({
        actor,
        action: 'flag.restored',
        target: key,
        oldValue: null,
        newValue: base,
        reason: 'feature_flags row was missing; re-created from the last synced value',
        metadata: { path: 'sync' },
      });
    }
    return plan;
  }

  plan.baseChanged = true;
  if (pgChanged && !kvChanged) {
    const p = pg as Extract<PgSide, { state: 'valid' }>;
    Object.assign(plan, { outcome: 'sql', target: pgVal, source: 'sql', putKv: !kvHolds(pgVal), targetAt: p.at });
    if (!p.recorded) plan.ledger.push(set(key, 'sql', 'sql', base, pgVal, { updated_by: p.by }));
    return plan;
  }

  const k = kv as Extract<KvSide, { state: 'valid' }>;
  const dated = kvDated(k, observedAt);
  if (kvChanged && !pgChanged) {
    Object.assign(plan, { outcome: 'kv', target: kvVal, source: 'kv', targetAt: dated.at });
    plan.pg = { value: kvVal, at: dated.at, writer: 'kv' };
    plan.ledger.push(set(key, 'kv', 'kv', base, kvVal));
    return plan;
  }

  const p = pg as Extract<PgSide, { state: 'valid' }>;
  if (sameJson(pgVal, kvVal)) {
    Object.assign(plan, { outcome: 'both', target: pgVal, source: 'sql', targetAt: p.at });
    if (!p.recorded) plan.ledger.push(set(key, 'sql', 'sql', base, pgVal, { updated_by: p.by, same_as: 'kv' }));
    plan.ledger.push(set(key, 'kv', 'kv', base, kvVal, { same_as: 'sql' }));
    return plan;
  }

  // Conflict: both sides changed to different values. The newer change wins; a tie goes to
  // Postgres (the truth). An operator's KV put carries no time of its own, so it is dated when
  // the sync first sees it (at most one sync interval late) unless its metadata says otherwise.
  const kvWins = dated.at.getTime() > p.at.getTime();
  const winner = kvWins ? { path: 'kv', value: kvVal, at: dated.at } : { path: 'sql', value: pgVal, at: p.at };
  const loser = kvWins ? { path: 'sql', value: pgVal, at: p.at } : { path: 'kv', value: kvVal, at: dated.at };
  const conflict = {
    winner: winner.path,
    loser: loser.path,
    base,
    sql: { value: pgVal, at: p.at.toISOString(), updated_by: p.by },
    kv: { value: kvVal, at: dated.at.toISOString(), dated_by: dated.from },
    resolved_at: observedAt.toISOString(),
  };
  Object.assign(plan, { outcome: 'conflict', target: winner.value, source: winner.path, targetAt: winner.at, conflict });
  if (kvWins) plan.pg = { value: kvVal, at: dated.at, writer: 'kv' };
  else plan.putKv = true;
  if (kvWins || !p.recorded) plan.ledger.push(set(key, winner.path, winner.path, base, winner.value, { conflict: true }));
  plan.ledger.push({
    actor,
    action: 'flag.conflict',
    target: key,
    oldValue: loser.value,
    newValue: winner.value,
    reason: `both Postgres and KV changed since the last sync; the newer change (${winner.path}) wins`,
    metadata: { path: winner.path, ...conflict },
  });
  return plan;
}

/**
 * An explicit write (API, CLI, alert action) on top of a merge: the merge first records any change
 * not yet synced (so nothing is lost silently), then the new value becomes the truth.
 * Returns false when the value is already the truth (no ledger row, no new revision).
 */
export function applyWrite(
  plan: MergePlan,
  value: unknown,
  w: { actor: string; path: string; reason?: string; requestId?: string },
): boolean {
  if (plan.target !== undefined && sameJson(plan.target, value)) return false;
  plan.ledger.push({ ...set(plan.key, w.path, w.actor, plan.target, value), reason: w.reason, requestId: w.requestId });
  Object.assign(plan, { target: value, baseChanged: true, source: w.path, putKv: true, targetAt: undefined });
  plan.pg = { value, writer: w.actor };
  return true;
}
