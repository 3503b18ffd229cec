// A job run on demand through an API route (POST /admin/policy/rollup, /functions/v1/hydrate-features,
// /admin/rate-limits/sync, /functions/v1/rocker-discovery-run): logged as one job.done / job.failed
// line like a cron run and recorded in public.job_runs with who asked (trigger 'api', actor,
// request id). Not in ai_action_ledger: running an idempotent job early changes no setting and
// decides nothing (the cron would do the same within minutes), and the guide's /functions/v1/*
// routes are what external schedulers call on a timer — ledgering them is how routine runs buried
// the operator's changes. The change such a run publishes is recorded where it is made (a flag by
// its writer or trigger, a rate limit by its trigger).
import { type JobRun, recordJobRuns } from '../db/job-runs';
import { isDatabaseUnreachable } from '../http/errors';
import { errorFields } from '../observability/logger';
import type { Unit } from './unit';

export interface OnDemandRun {
  /** The job's name, as in src/jobs.ts where the same work runs on a schedule. */
  job: string;
  /** The route that asked ('POST /admin/policy/rollup'). */
  route: string;
  /** Who asked: 'api:service', 'cli', the caller's x-actor. */
  actor: string;
}

export async function runOnDemand<T extends object>(
  unit: Pick<Unit, 'db' | 'log' | 'id'>,
  def: OnDemandRun,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const record = async (status: JobRun['status'], result: object, error?: string) => {
    try {
      await recordJobRuns(unit.db(), [
        {
          job: def.job,
          trigger: 'api',
          source: def.route,
          actor: def.actor,
          status,
          startedAt: new Date(started),
          durationMs: Math.max(0, Date.now() - started),
          result,
          error,
          requestId: unit.id,
        },
      ]);
    } catch (err) {
      unit.log.error('job_runs.record_failed', { job: def.job, ...errorFields(err) });
    }
  };
  try {
    const result = await fn();
    unit.log.info('job.done', {
      job: def.job,
      trigger: 'api',
      actor: def.actor,
      ...result,
      status: 'ok',
      duration_ms: Date.now() - started,
    });
    await record('ok', result);
    return result;
  } catch (err) {
    const fields = errorFields(err);
    unit.log.error('job.failed', {
      job: def.job,
      trigger: 'api',
      actor: def.actor,
      status: 'failed',
      duration_ms: Date.now() - started,
      ...fields,
    });
    // With the database unreachable the record would only add its connect timeout to the 503.
    if (!isDatabaseUnreachable(err)) await record('failed', {}, String(fields.error));
    throw err;
  }
}
