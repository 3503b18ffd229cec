// The background pause switch of the rollback procedure (guide §6 "scale down workers"): while
// `ops.pause_jobs` is {"enabled": true}, the crons' side-effecting jobs are skipped and the
// discovery consumer hands its messages back to the outbox instead of processing them. Monitoring
// keeps running (flag sync, metrics sampler, alert evaluation, rate-limit sync), so resuming —
// by API, CLI or the SQL below — takes effect within a minute.
//   UPDATE public.feature_flags SET value = '{"enabled": false}'::jsonb WHERE key = 'ops.pause_jobs';
// It is a feature_flags row (a flag, in the ledger like every flag change) read only by background
// work, one query per cron run or consumer batch: it is not an edge flag, so it is neither synced
// to KV nor read on any request path, and the row exists only once someone has paused.
import { eq, sql } from 'drizzle-orm';
import { recordAction } from '../db/ledger';
import { featureFlags } from '../db/schema';
import type { Db } from '../db/sql';
import { execute, transaction } from '../db/sql';

export const PAUSE_FLAG = 'ops.pause_jobs';

export interface PauseState {
  paused: boolean;
  updated_at: string | null;
  updated_by: string | null;
}

// Only an explicit {"enabled": true} pauses: a malformed value must not silently stop the system.
const pausesJobs = (value: unknown): boolean => (value as { enabled?: unknown } | null | undefined)?.enabled === true;

type PauseRow = { value: unknown; updatedAt: Date; updatedBy: string | null };
const toState = (row: PauseRow | undefined): PauseState => ({
  paused: pausesJobs(row?.value),
  updated_at: row ? row.updatedAt.toISOString() : null,
  updated_by: row?.updatedBy ?? null,
});

const pauseColumns = { value: featureFlags.value, updatedAt: featureFlags.updatedAt, updatedBy: featureFlags.updatedBy };

export async function pauseState(db: Db): Promise<PauseState> {
  const [row] = await db.select(pauseColumns).from(featureFlags).where(eq(featureFlags.key, PAUSE_FLAG));
  return toState(row);
}

export async function jobsPaused(db: Db): Promise<boolean> {
  return (await pauseState(db)).paused;
}

/** Pause or resume; writes the flag and its ledger row in one transaction. */
export async function setJobsPaused(
  db: Db,
  paused: boolean,
  meta: { actor: string; reason?: string; requestId?: string },
): Promise<PauseState & { changed: boolean }> {
  const value = { enabled: paused };
  return transaction(db, async (tx) => {
    // Name ourselves as the writer: this transaction writes its own ledger row (ops.pause /
    // ops.resume), so the feature_flags trigger of migration 0730 must not add a second one.
    await execute(tx, sql`SELECT set_config('app.flag_writer', ${meta.actor}, true)`);
    const [old] = await tx.select({ value: featureFlags.value }).from(featureFlags).where(eq(featureFlags.key, PAUSE_FLAG)).for('update');
    const [row] = await tx
      .insert(featureFlags)
      .values({
        key: PAUSE_FLAG,
        value,
        description: 'Rollback: pause background side effects (crons, discovery consumer)',
        updatedAt: sql`now()`,
        updatedBy: meta.actor,
      })
      .onConflictDoUpdate({
        target: featureFlags.key,
        set: { value: sql`excluded.value`, updatedAt: sql`now()`, updatedBy: sql`excluded.updated_by` },
      })
      .returning(pauseColumns);
    await recordAction(tx, {
      actor: meta.actor,
      action: paused ? 'ops.pause' : 'ops.resume',
      target: PAUSE_FLAG,
      oldValue: old?.value ?? null,
      newValue: value,
      reason: meta.reason,
      requestId: meta.requestId,
    });
    return { ...toState(row), changed: pausesJobs(old?.value) !== paused };
  });
}
