// scheduled(): dispatch on controller.cron to the jobs of that schedule. Each job is isolated
// (one failing does not stop the others), logged as one JSON line, and a failure makes the
// invocation fail so Cloudflare's cron history shows it.
import { createDb, type Db } from '../db/client';
import { createLogger, errorFields, type Logger } from '../observability/logger';
import { rateLimitSync } from '../ratelimit/sync-job';
import { flagSync } from './flag-sync';
import { discoveryRelayJob } from './discovery';
import { alertsEvaluator } from '../alerts/evaluate';
import { isolateMetrics } from '../observability/collector';
import { gcMetrics, metricsSampler } from '../observability/sampler';
import { hydrateFeaturesJob, learningRollupJob } from '../learning/jobs';
import { jobsPaused } from '../ops/pause';
import { gcIntentSignals, gcLearningEvents, gcQueueDone } from './gc';

export interface JobContext {
  env: Env;
  log: Logger;
  db: () => Db;
  ctx: ExecutionContext;
  scheduledTime: number;
}

export interface Job {
  name: string;
  /**
   * Skipped while background work is paused (ops.pause_jobs, the rollback procedure): jobs with
   * side effects on data or ranking. Monitoring and the flag sync are never paused, so an operator
   * can always see the system and resume it.
   */
  pausable?: boolean;
  run(c: JobContext): Promise<Record<string, unknown> | void>;
}

/** The four Cron Triggers of wrangler.toml and what each runs. Features add their jobs here. */
export const schedules: Record<string, Job[]> = {
  '* * * * *': [flagSync, discoveryRelayJob, metricsSampler, alertsEvaluator, rateLimitSync],
  // Rollup first: hydrate-features then publishes the fresh estimates to KV.
  '*/5 * * * *': [learningRollupJob, hydrateFeaturesJob],
  '0 2 * * *': [gcLearningEvents, gcMetrics],
  '0 3 * * *': [gcIntentSignals, gcQueueDone],
};

export async function runJobs(jobs: Job[], env: Env, ctx: ExecutionContext, scheduledTime: number, log: Logger) {
  let db: Db | undefined;
  const c: JobContext = { env, log, ctx, scheduledTime, db: () => (db ??= createDb(env, log)) };
  const failed: string[] = [];
  try {
    const paused = jobs.some((j) => j.pausable) ? await jobsPaused(c.db()).catch((err) => {
      log.error('jobs.pause_check_failed', errorFields(err)); // run them: each fails on its own if the database is down
      return false;
    }) : false;
    for (const job of jobs) {
      if (job.pausable && paused) {
        log.warn('job.paused', { job: job.name, operation: `cron.${job.name}`, status: 'paused', flag: 'ops.pause_jobs' });
        continue;
      }
      const started = Date.now();
      try {
        const result = await job.run({ ...c, log: log.child({ job: job.name }) });
        isolateMetrics.collector.observe(`cron.${job.name}`, Date.now() - started, false);
        log.info('job.done', { job: job.name, ...(result ?? {}), operation: `cron.${job.name}`, status: 'ok', duration_ms: Date.now() - started });
      } catch (err) {
        failed.push(job.name);
        isolateMetrics.collector.observe(`cron.${job.name}`, Date.now() - started, true);
        log.error('job.failed', { job: job.name, operation: `cron.${job.name}`, status: 'failed', duration_ms: Date.now() - started, ...errorFields(err) });
      }
    }
  } finally {
    if (db) await db.end();
  }
  return { failed };
}

export async function handleScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  // One id per invocation, under the same key as HTTP requests: every job line of a run shares it.
  const log = createLogger({ request_id: crypto.randomUUID(), cron: controller.cron });
  const jobs = schedules[controller.cron];
  if (!jobs) {
    log.error('cron.unknown_schedule', {});
    return;
  }
  const { failed } = await runJobs(jobs, env, ctx, controller.scheduledTime, log);
  if (failed.length > 0) throw new Error(`cron ${controller.cron}: jobs failed: ${failed.join(', ')}`);
}
