// public.job_runs (migration 0730): the outcome of routine work, one row per cron job run or
// on-demand run. ai_action_ledger keeps decisions and changes (ledger.ts); a run of a job is
// neither, and hundreds of them a day would bury the one safe-mode flip an operator looks for.
import { jobRuns } from './schema';
import type { Db } from './sql';

export type JobRun = typeof jobRuns.$inferInsert;

/** Longest error text kept per run (the log line has the rest). */
const MAX_ERROR = 2_000;

/** Write the runs of one cron invocation (or one on-demand run) in one statement. */
export async function recordJobRuns(db: Db, runs: readonly JobRun[]): Promise<void> {
  if (runs.length === 0) return;
  await db.insert(jobRuns).values(runs.map((r) => ({ ...r, error: r.error?.slice(0, MAX_ERROR) ?? null })));
}
