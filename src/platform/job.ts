// Cron jobs: each feature folder exports its jobs; the composition root (src/index.ts) lists
// which run on which Cron Trigger of wrangler.toml, and src/cron/run.ts runs them.
import type { Unit } from './unit';

/** The unit of work of one cron invocation, as one job sees it (its log carries the job name). */
export interface JobContext extends Unit {
  /** controller.scheduledTime: when this run was due (ms since the epoch). */
  scheduledTime: number;
}

export type JobResult = Record<string, unknown> | undefined;

export interface Job {
  name: string;
  /**
   * Skipped while background work is paused (ops.pause_jobs, the rollback procedure): jobs with
   * side effects on data or ranking. Monitoring and the flag sync are never paused, so an operator
   * can always see the system and resume it.
   */
  pausable?: boolean;
  run(c: JobContext): Promise<JobResult>;
}

/** Cron expression (exactly as in wrangler.toml) → the jobs it runs, in order. */
export type Schedules = Record<string, readonly Job[]>;
