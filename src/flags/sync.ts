// Postgres ⇄ KV convergence. One transaction locks the flags' sync rows and feature_flags rows
// (so the per-minute sync, API writes and concurrent syncs serialise, and an operator's SQL
// UPDATE waits for us instead of being overwritten), reads each KV entry, merges
// (src/flags/merge.ts), writes Postgres, the merge base and the ledger rows, and commits.
// KV puts happen after the commit: if one fails, the base already has the new rev, so the next
// sync sees KV as stale and puts it again.
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client';
import { recordActionTx } from '../db/ledger';
import { zodIssues } from '../lib/errors';
import { errorFields, type Logger } from '../observability/logger';
import { FLAG_KEYS, parseFlag, type FlagKey } from './definitions';
import { invalidateFlagCache } from './index';
import { parseJsonText, putFlag, readFlagWithMeta } from './kv';
import { mergeFlag, type KvSide, type MergePlan, type Outcome, type PgSide } from './merge';

export interface SyncContext {
  env: Env;
  db: () => Db;
  log: Logger;
}

export interface SyncedFlag {
  key: FlagKey;
  outcome: Outcome;
  rev: number;
  value: unknown;
  kv: 'kept' | 'put' | 'put_failed';
}

interface StateRow { key: FlagKey; value: unknown; rev: string | number; rejected: { sql?: unknown; kv?: unknown } }
interface FlagRow { key: FlagKey; value: unknown; updated_at: string | Date; updated_by: string | null }

const rowsOf = <T>(r: unknown): T[] => (r as { rows: T[] }).rows;

function readPgSide(row: FlagRow | undefined, key: FlagKey): PgSide {
  if (!row) return { state: 'missing' };
  const parsed = parseFlag(key, row.value);
  if (!parsed.success) return { state: 'invalid', raw: row.value, issues: zodIssues(parsed.error) };
  return { state: 'valid', value: row.value, at: new Date(row.updated_at), by: row.updated_by };
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

async function applyPlan(tx: Tx, plan: MergePlan, state: StateRow): Promise<{ rev: number; at?: Date }> {
  let at = plan.targetAt;
  if (plan.pg) {
    // The feature_flags trigger (migration 0100) stamps updated_by from this setting.
    await tx.execute(sql`SELECT set_config('app.flag_writer', ${plan.pg.writer}, true)`);
    const [row] = rowsOf<{ updated_at: string | Date }>(await tx.execute(sql`
      INSERT INTO public.feature_flags (key, value, updated_at, updated_by)
      VALUES (${plan.key}, ${JSON.stringify(plan.pg.value)}::jsonb, coalesce(${plan.pg.at?.toISOString() ?? null}::timestamptz, now()), ${plan.pg.writer})
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
      RETURNING updated_at`));
    at ??= row ? new Date(row.updated_at) : undefined;
  }
  const [updated] = rowsOf<{ rev: string | number }>(await tx.execute(sql`
    UPDATE public.feature_flag_sync SET
      value = ${plan.target === undefined ? null : JSON.stringify(plan.target)}::jsonb,
      rev = rev + ${plan.baseChanged ? 1 : 0},
      source = coalesce(${plan.source ?? null}, source),
      synced_at = now(),
      last_conflict = coalesce(${plan.conflict ? JSON.stringify(plan.conflict) : null}::jsonb, last_conflict),
      rejected = ${JSON.stringify(plan.rejected)}::jsonb
    WHERE key = ${state.key}
    RETURNING rev`));
  for (const entry of plan.ledger) await recordActionTx(tx, entry);
  return { rev: Number(updated?.rev ?? state.rev), at };
}

/**
 * Merge the given flags (all by default). `amend` may change a plan before it is applied: setFlag
 * uses it to put an explicit write on top of the merge (src/flags/write.ts).
 */
export async function syncFlags(
  c: SyncContext,
  opts: { actor: string; keys?: readonly FlagKey[]; amend?: (plan: MergePlan) => void },
): Promise<SyncedFlag[]> {
  const keys = [...(opts.keys ?? FLAG_KEYS)].sort();
  const db = c.db();
  const applied = await db.orm.transaction(async (tx) => {
    await tx.execute(sql`INSERT INTO public.feature_flag_sync (key)
      VALUES ${sql.join(keys.map((k) => sql`(${k})`), sql`, `)} ON CONFLICT (key) DO NOTHING`);
    const states = rowsOf<StateRow>(await tx.execute(sql`
      SELECT key, value, rev, rejected FROM public.feature_flag_sync WHERE key IN ${keys} ORDER BY key FOR UPDATE`));
    const rows = rowsOf<FlagRow>(await tx.execute(sql`
      SELECT key, value, updated_at, updated_by FROM public.feature_flags WHERE key IN ${keys} ORDER BY key FOR UPDATE`));
    const kvSides = await Promise.all(keys.map((key) => readKvSide(c.env, key)));
    const observedAt = new Date();
    const out: { plan: MergePlan; rev: number; at?: Date }[] = [];
    for (const [i, key] of keys.entries()) {
      const state = states.find((s) => s.key === key)!;
      const pg = readPgSide(rows.find((r) => r.key === key), key);
      const kv = kvSides[i]!;
      const plan = mergeFlag({
        key, base: state.value ?? undefined, rev: Number(state.rev), pg, kv, observedAt,
        rejected: state.rejected ?? {}, actor: opts.actor,
      });
      opts.amend?.(plan);
      if (plan.outcome === 'init' && kv.state === 'valid' && plan.putKv) {
        c.log.warn('flags.sync.kv_replaced_at_init', { key, kv: kv.value, pg: plan.target });
      }
      for (const side of ['sql', 'kv'] as const) {
        if (plan.rejected[side] !== undefined) c.log.error('flags.invalid_value', { key, source: side === 'sql' ? 'db' : 'kv', phase: 'sync' });
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
