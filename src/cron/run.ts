// scheduled(): dispatch on controller.cron to the jobs of that schedule (src/jobs.ts). Each job is
// isolated (one failing does not stop the others), logged as one JSON line, timed as
// `cron.<job>`, and a failure makes the invocation fail so Cloudflare's cron history shows it.
// Pausable jobs are skipped while background work is paused (the isPaused check, one query per run).
// Every run, skipped ones included, becomes a public.job_runs row (one insert per invocation):
// routine outcomes live there, in the logs and in the metrics — never in ai_action_ledger, which
// keeps the decisions and changes an operator looks for.
import { type JobRun, recordJobRuns } from '../db/job-runs';
import { isolateMetrics } from '../observability/collector';
import { errorFields } from '../observability/logger';
import type { Job, Schedules } from '../platform/job';
import { openUnit, type Unit, withLogFields } from '../platform/unit';

export interface CronOptions {
  schedules: Schedules;
  /** Is background work paused right now (ops.pause_jobs)? Asked only when a pausable job is due. */
  isPaused(unit: Unit): Promise<boolean>;
}

export async function runJobs(
  jobs: readonly Job[],
  unit: Unit,
  scheduledTime: number,
  isPaused: CronOptions['isPaused'],
  cron = '',
): Promise<{ failed: string[]; runs: JobRun[] }> {
  const failed: string[] = [];
  const runs: JobRun[] = [];
  const run = (job: Job, started: number, status: JobRun['status'], result: object, error?: string): JobRun => ({
    job: job.name,
    trigger: 'cron',
    source: cron,
    actor: 'cron',
    status,
    scheduledAt: new Date(scheduledTime),
    startedAt: new Date(started),
    durationMs: Math.max(0, Math.round(Date.now() - started)),
    result,
    error,
    requestId: unit.id,
  });
  const paused = jobs.some((j) => j.pausable)
    ? await isPaused(unit).catch((err) => {
        unit.log.error('jobs.pause_check_failed', errorFields(err)); // run them: each fails on its own if the database is down
        return false;
      })
    : false;
  for (const job of jobs) {
    if (job.pausable && paused) {
      unit.log.warn('job.paused', { job: job.name, operation: `cron.${job.name}`, status: 'paused', flag: 'ops.pause_jobs' });
      runs.push(run(job, Date.now(), 'paused', { flag: 'ops.pause_jobs' }));
      continue;
    }
    const started = Date.now();
    try {
      const result = await job.run({ ...withLogFields(unit, { job: job.name }), scheduledTime });
      isolateMetrics.collector.observe(`cron.${job.name}`, Date.now() - started, false);
      unit.log.info('job.done', {
        job: job.name,
        ...(result ?? {}),
        operation: `cron.${job.name}`,
        status: 'ok',
        duration_ms: Date.now() - started,
      });
      runs.push(run(job, started, 'ok', result ?? {}));
    } catch (err) {
      failed.push(job.name);
      isolateMetrics.collector.observe(`cron.${job.name}`, Date.now() - started, true);
      const fields = errorFields(err);
      unit.log.error('job.failed', {
        job: job.name,
        operation: `cron.${job.name}`,
        status: 'failed',
        duration_ms: Date.now() - started,
        ...fields,
      });
      runs.push(run(job, started, 'failed', {}, String(fields.error)));
    }
  }
  return { failed, runs };
}

/** Best effort: a run that cannot be recorded (database down) is still in the logs and metrics. */
async function recordRuns(unit: Unit, runs: JobRun[]): Promise<void> {
  try {
    await recordJobRuns(unit.db(), runs);
  } catch (err) {
    unit.log.error('job_runs.record_failed', { runs: runs.length, ...errorFields(err) });
  }
}

export function createScheduledHandler(opts: CronOptions) {
  return async (controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> => {
    // One id per invocation, under the same key as HTTP requests: every job line of a run shares it.
    const { unit, close } = openUnit(env, (p) => ctx.waitUntil(p), {
      fields: { cron: controller.cron },
      metrics: isolateMetrics.collector,
    });
    const jobs = opts.schedules[controller.cron];
    if (!jobs) {
      unit.log.error('cron.unknown_schedule', {});
      return;
    }
    let failed: string[];
    try {
      const outcome = await runJobs(jobs, unit, controller.scheduledTime, opts.isPaused, controller.cron);
      failed = outcome.failed;
      await recordRuns(unit, outcome.runs);
    } finally {
      await close();
    }
    if (failed.length > 0) throw new Error(`cron ${controller.cron}: jobs failed: ${failed.join(', ')}`);
  };
}
