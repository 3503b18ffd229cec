// The flag store's Postgres side: feature_flags (the truth) and feature_flag_sync (the three-way
// merge base per key). Plain CRUD through drizzle; the merge's locked reads and writes run inside
// the sync's transaction (src/flags/sync.ts).
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { featureFlagSync, featureFlags } from '../db/schema';
import type { Db } from '../db/sql';
import { col, nullable, queryRows } from '../db/sql';
import type { FlagKey } from './definitions';

/** Request path fallback (KV empty): the stored values of these keys. */
export function readFlagValues(db: Db, keys: readonly FlagKey[]) {
  return db
    .select({ key: featureFlags.key, value: featureFlags.value })
    .from(featureFlags)
    .where(inArray(featureFlags.key, [...keys]));
}

/** The operator's listing: every flag row with its sync bookkeeping. */
export function listFlagRows(db: Db) {
  return db
    .select({
      key: featureFlags.key,
      value: featureFlags.value,
      description: featureFlags.description,
      updatedAt: featureFlags.updatedAt,
      updatedBy: featureFlags.updatedBy,
      rev: featureFlagSync.rev,
      syncedAt: featureFlagSync.syncedAt,
      source: featureFlagSync.source,
      lastConflict: featureFlagSync.lastConflict,
    })
    .from(featureFlags)
    .leftJoin(featureFlagSync, eq(featureFlagSync.key, featureFlags.key))
    .orderBy(asc(featureFlags.key));
}

/** Sync: make sure every key has a merge-base row, then lock the base rows and the flag rows. */
export async function lockSyncState(tx: Db, keys: readonly FlagKey[]) {
  await tx
    .insert(featureFlagSync)
    .values(keys.map((key) => ({ key })))
    .onConflictDoNothing();
  const states = await tx
    .select({ key: featureFlagSync.key, value: featureFlagSync.value, rev: featureFlagSync.rev, rejected: featureFlagSync.rejected })
    .from(featureFlagSync)
    .where(inArray(featureFlagSync.key, [...keys]))
    .orderBy(asc(featureFlagSync.key))
    .for('update');
  const rows = await tx
    .select({ key: featureFlags.key, value: featureFlags.value, updatedAt: featureFlags.updatedAt, updatedBy: featureFlags.updatedBy })
    .from(featureFlags)
    .where(inArray(featureFlags.key, [...keys]))
    .orderBy(asc(featureFlags.key))
    .for('update');
  return { states, rows };
}

export type SyncStateRow = Awaited<ReturnType<typeof lockSyncState>>['states'][number];
export type FlagRow = Awaited<ReturnType<typeof lockSyncState>>['rows'][number];

/**
 * The newest flag.set ledger row of each key, when the feature_flags trigger of migration 0730
 * wrote it: the value an SQL change set, already recorded. The sync asks only for keys whose
 * Postgres value moved away from the merge base (one index probe per key, not a ledger scan).
 */
export async function triggerRecordedValues(tx: Db, keys: readonly FlagKey[]): Promise<Map<string, unknown>> {
  if (keys.length === 0) return new Map();
  const rows = await queryRows(
    tx,
    'flags.trigger_recorded_values',
    z.object({ key: col.text, new_value: col.json, via: nullable.text }),
    sql`
      SELECT k.key, l.new_value, l.via
      FROM unnest(${sql.param([...keys])}::text[]) AS k(key)
      CROSS JOIN LATERAL (
        SELECT a.new_value, a.metadata ->> 'via' AS via
        FROM public.ai_action_ledger a
        WHERE a.target = k.key AND a.action = 'flag.set'
        ORDER BY a.id DESC
        LIMIT 1
      ) l`,
  );
  return new Map(rows.filter((r) => r.via === 'trigger').map((r) => [r.key, r.new_value]));
}

/** Write a flag's value as `writer` (the feature_flags trigger of migration 0100 stamps updated_by from app.flag_writer). */
export async function writeFlagValue(
  tx: Db,
  key: FlagKey,
  value: unknown,
  writer: string,
  at: Date | undefined,
): Promise<Date | undefined> {
  await tx.execute(sql`SELECT set_config('app.flag_writer', ${writer}, true)`);
  const [row] = await tx
    .insert(featureFlags)
    .values({ key, value, updatedAt: at ?? sql`now()`, updatedBy: writer })
    .onConflictDoUpdate({ target: featureFlags.key, set: { value: sql`excluded.value`, updatedAt: sql`excluded.updated_at` } })
    .returning({ updatedAt: featureFlags.updatedAt });
  return row?.updatedAt;
}

/** Record the merge result in the base row; returns the (possibly bumped) revision. */
export async function updateSyncState(
  tx: Db,
  key: FlagKey,
  next: { value: unknown; bump: boolean; source: string | undefined; conflict: unknown; rejected: unknown },
): Promise<number | undefined> {
  const [row] = await tx
    .update(featureFlagSync)
    .set({
      value: next.value === undefined ? null : next.value,
      rev: sql`${featureFlagSync.rev} + ${next.bump ? 1 : 0}`,
      source: next.source === undefined ? sql`${featureFlagSync.source}` : next.source,
      syncedAt: sql`now()`,
      lastConflict: next.conflict === undefined ? sql`${featureFlagSync.lastConflict}` : next.conflict,
      rejected: next.rejected,
    })
    .where(eq(featureFlagSync.key, key))
    .returning({ rev: featureFlagSync.rev });
  return row?.rev;
}
