// Postgres ⇄ KV convergence. One transaction locks the flags' sync rows and feature_flags rows
// (so the per-minute sync, API writes and concurrent syncs serialise, and an operator's SQL
// UPDATE waits for us instead of being overwritten), reads each KV entry, merges
// (src/flags/merge.ts), writes Postgres, the merge base and the ledger rows, and commits.
// An SQL change was recorded by the feature_flags trigger when it was made (migration 0730); the
// merge is told so (PgSide.recorded) and does not record it a second time.
// KV puts happen after the commit: if one fails, the base already has the new rev, so the next
// sync sees KV as stale and puts it again.

import { recordAction } from '../db/ledger';
import type { Db } from '../db/sql';
import { transaction } from '../db/sql';
import { zodIssues } from '../http/errors';
import { errorFields } from '../observability/logger';
import type { Unit } from '../platform/unit';
import { sameJson } from './canonical';
import { FLAG_KEYS, type FlagKey, parseFlag } from './definitions';
import { invalidateFlagCache } from './index';
import { parseJsonText, putFlag, readFlagWithMeta } from './kv';
import { type KvSide, type MergePlan, mergeFlag, type Outcome, type PgSide } from './merge';
import { type FlagRow, lockSyncState, type SyncStateRow, triggerRecordedValues, updateSyncState, writeFlagValue } from './queries';

/** What a sync needs of the unit of work. */
export type SyncUnit = Pick<Unit, 'env' | 'db' | 'log'>;

export interface SyncedFlag {
  key: FlagKey;
  outcome: Outcome;
  rev: number;
  value: unknown;
  kv: 'kept' | 'put' | 'put_failed';
}

function readPgSide(row: FlagRow | undefined, key: FlagKey): PgSide {
  if (!row) return { state: 'missing' };
  const parsed = parseFlag(key, row.value);
  if (!parsed.success) return { state: 'invalid', raw: row.value, issues: zodIssues(parsed.error) };
  return { state: 'valid', value: row.value, at: row.updatedAt, by: row.updatedBy };
}

async function readKvSide(env: Env, key: FlagKey): Promise<KvSide> {
  const { text, meta } = await readFlagWithMeta(env, key);
  if (text === null) return { state: 'missing' };
  const json = parseJsonText(text);
  if (!json.ok) return { state: 'invalid', raw: text, issues: [{ path: '(root)', message: 'not JSON', code: 'invalid_json' }] };
  const parsed = parseFlag(key, json.value);
  if (!parsed.success) return { state: 'invalid', raw: json.value, issues: zodIssues(parsed.error) };
  return { state: 'valid', value: json.value, meta };
}

async function applyPlan(tx: Db, plan: MergePlan, state: SyncStateRow): Promise<{ rev: number; at?: Date }> {
  let at = plan.targetAt;
  if (plan.pg) {
    const written = await writeFlagValue(tx, plan.key, plan.pg.value, plan.pg.writer, plan.pg.at);
    at ??= written;
  }
  const rev = await updateSyncState(tx, state.key as FlagKey, {
    value: plan.target,
    bump: plan.baseChanged,
    source: plan.source,
    conflict: plan.conflict,
    rejected: plan.rejected,
  });
  for (const entry of plan.ledger) await recordAction(tx, entry);
  return { rev: rev ?? state.rev, at };
}

/**
 * Merge the given flags (all by default). `amend` may change a plan before it is applied: setFlag
 * uses it to put an explicit write on top of the merge (src/flags/write.ts).
 */
export async function syncFlags(
  c: SyncUnit,
  opts: { actor: string; keys?: readonly FlagKey[]; amend?: (plan: MergePlan) => void },
): Promise<SyncedFlag[]> {
  const keys = [...(opts.keys ?? FLAG_KEYS)].sort();
  const applied = await transaction(c.db(), async (tx) => {
    const { states, rows } = await lockSyncState(tx, keys);
    const kvSides = await Promise.all(keys.map((key) => readKvSide(c.env, key)));
    const observedAt = new Date();
    const stateOf = (key: FlagKey) => states.find((s) => s.key === key)!;
    const pgSides = keys.map((key) =>
      readPgSide(
        rows.find((r) => r.key === key),
        key,
      ),
    );
    // Keys whose Postgres value moved since the last sync: was that change recorded already?
    const moved = keys.filter((key, i) => {
      const pg = pgSides[i]!;
      const base = stateOf(key).value;
      return pg.state === 'valid' && base !== null && !sameJson(pg.value, base);
    });
    const recorded = await triggerRecordedValues(tx, moved);
    const out: { plan: MergePlan; rev: number; at?: Date }[] = [];
    for (const [i, key] of keys.entries()) {
      const state = stateOf(key);
      const pg = pgSides[i]!;
      if (pg.state === 'valid' && recorded.has(key)) pg.recorded = sameJson(recorded.get(key), pg.value);
      const kv = kvSides[i]!;
      const plan = mergeFlag({
        key,
        base: state.value ?? undefined,
        rev: state.rev,
        pg,
        kv,
        observedAt,
        rejected: (state.rejected ?? {}) as MergePlan['rejected'],
        actor: opts.actor,
      });
      opts.amend?.(plan);
      if (plan.outcome === 'init' && kv.state === 'valid' && plan.putKv) {
        c.log.warn('flags.sync.kv_replaced_at_init', { key, kv: kv.value, pg: plan.target });
      }
      for (const side of ['sql', 'kv'] as const) {
        if (plan.rejected[side] !== undefined)
          c.log.error('flags.invalid_value', { key, source: side === 'sql' ? 'db' : 'kv', phase: 'sync' });
      }
      if (plan.conflict) c.log.warn('flags.sync.conflict', { key, ...plan.conflict });
      out.push({ plan, ...(await applyPlan(tx, plan, state)) });
    }
    return out;
  });

  const results: SyncedFlag[] = [];
  for (const { plan, rev, at } of applied) {
    let kv: SyncedFlag['kv'] = 'kept';
    if (plan.putKv && plan.target !== undefined) {
      try {
        await putFlag(c.env, plan.key, plan.target, { rev, updated_at: (at ?? new Date()).toISOString(), source: plan.source ?? 'sync' });
        kv = 'put';
      } catch (err) {
        kv = 'put_failed';
        c.log.error('flags.kv_put_failed', { key: plan.key, ...errorFields(err) });
      }
    }
    if (plan.baseChanged || kv === 'put') c.log.info('flags.synced', { key: plan.key, outcome: plan.outcome, rev, kv });
    results.push({ key: plan.key, outcome: plan.outcome, rev, value: plan.target ?? null, kv });
  }
  // This isolate sees its own writes at once; others within MEMORY_TTL_MS (+ KV propagation).
  if (results.some((r) => r.kv === 'put')) invalidateFlagCache();
  return results;
}
