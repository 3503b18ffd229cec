// The background pause switch of the rollback procedure (guide §6 "scale down workers"): while
// `ops.pause_jobs` is {"enabled": true}, the crons' side-effecting jobs are skipped and the
// discovery consumer hands its messages back to the outbox instead of processing them. Monitoring
// keeps running (flag sync, metrics sampler, alert evaluation, rate-limit sync), so resuming —
// by API, CLI or the SQL below — takes effect within a minute.
//   UPDATE public.feature_flags SET value = '{"enabled": false}'::jsonb WHERE key = 'ops.pause_jobs';
// It is a feature_flags row (a flag, in the ledger like every flag change) read only by background
// work, one query per cron run or consumer batch: it is not an edge flag, so it is neither synced
// to KV nor read on any request path, and the row exists only once someone has paused.
import type { Db } from '../db/client';
import { recordActionTx } from '../db/ledger';
import { sql } from 'drizzle-orm';

export const PAUSE_FLAG = 'ops.pause_jobs';

export interface PauseState {
  paused: boolean;
  updated_at: string | null;
  updated_by: string | null;
}

// Only an explicit {"enabled": true} pauses: a malformed value must not silently stop the system.
const pausesJobs = (value: unknown): boolean => (value as { enabled?: unknown } | null | undefined)?.enabled === true;

type PauseRow = { value: unknown; updated_at: Date | string; updated_by: string | null };
const toState = (row: PauseRow | undefined): PauseState => ({
  paused: pausesJobs(row?.value),
  updated_at: row ? new Date(row.updated_at).toISOString() : null,
  updated_by: row?.updated_by ?? null,
});

export async function pauseState(db: Db): Promise<PauseState> {
  const [row] = await db.query<PauseRow>('SELECT value, updated_at, updated_by FROM public.feature_flags WHERE key = $1', [PAUSE_FLAG]);
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
  return db.orm.transaction(async (tx) => {
    const old = (await tx.execute(sql`SELECT value FROM public.feature_flags WHERE key = ${PAUSE_FLAG} FOR UPDATE`)).rows[0] as { value?: unknown } | undefined;
    const row = (await tx.execute(sql`
      INSERT INTO public.feature_flags (key, value, description, updated_at, updated_by)
      VALUES (${PAUSE_FLAG}, ${JSON.stringify(value)}::jsonb, 'Rollback: pause background side effects (crons, discovery consumer)', now(), ${meta.actor})
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by
      RETURNING value, updated_at, updated_by`)).rows[0] as PauseRow;
    await recordActionTx(tx, {
      actor: meta.actor, action: paused ? 'ops.pause' : 'ops.resume', target: PAUSE_FLAG,
      oldValue: old?.value ?? null, newValue: value, reason: meta.reason, requestId: meta.requestId,
    });
    return { ...toState(row), changed: pausesJobs(old?.value) !== paused };
  });
}
