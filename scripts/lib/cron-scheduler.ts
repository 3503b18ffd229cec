// The Cron Triggers of wrangler.toml, fired on their schedule against a local `wrangler dev`.
// `wrangler dev` only exposes a way to trigger the scheduled handler; nothing calls it, so without
// this no flag sync, rollup, relay, alert evaluation or GC ever runs locally (issue 13).
//
// At each UTC minute boundary every due cron is fired once through wrangler dev's
// /cdn-cgi/handler/scheduled?cron=…&time=…: a real scheduled event (not a fetch, as /__scheduled
// dispatches it), whose scheduledTime is the due minute, as on Cloudflare, and whose answer is the
// invocation's outcome (200 ok / 500 exception). The Worker logs each job (job.done/job.failed);
// this logs one line per trigger: cron, due minute, outcome, duration. A cron whose previous run is
// still going is skipped for that minute (logged), never stacked.
import { createRequire } from 'node:module';
import { type CronSchedule, parseCron } from './cron';

const MINUTE = 60_000;
/** Cloudflare's wall-clock limit for a cron invocation; a local run past it is abandoned. */
const RUN_LIMIT_MS = 15 * MINUTE;

/** The top-level `triggers.crons` of a wrangler config, read by wrangler's own config reader. */
export function readCronTriggers(configPath: string): string[] {
  const wrangler = createRequire(import.meta.url)('wrangler') as {
    experimental_readRawConfig(args: { config: string }): { rawConfig: { triggers?: { crons?: string[] } } };
  };
  return wrangler.experimental_readRawConfig({ config: configPath }).rawConfig.triggers?.crons ?? [];
}

export interface TriggerOutcome {
  status: number;
  body: string;
}

export interface CronSchedulerOptions {
  crons: readonly string[];
  /** Fire one cron as of `scheduledTime` and wait for its outcome. */
  trigger(cron: string, scheduledTime: number, signal: AbortSignal): Promise<TriggerOutcome>;
  log(line: string): void;
  /**
   * TEST ONLY: crons fired every minute instead of on their schedule, so an integration test sees a
   * `*\/5` job within a minute. Empty by default: the schedule of wrangler.toml is what runs.
   */
  everyMinute?: readonly string[];
}

export interface CronScheduler {
  /** Fire what is due in the minute starting at `minute` (ms). Resolves when those runs end. */
  tick(minute: number): Promise<void>;
  /** No more ticks; runs in flight are aborted and not logged. */
  stop(): void;
}

/** A trigger against `wrangler dev` at `base` (http://127.0.0.1:<port>). */
export function wranglerDevTrigger(base: string): CronSchedulerOptions['trigger'] {
  return async (cron, scheduledTime, signal) => {
    const url = new URL('/cdn-cgi/handler/scheduled', base);
    url.searchParams.set('cron', cron);
    url.searchParams.set('time', String(scheduledTime));
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(RUN_LIMIT_MS)]) });
    return { status: res.status, body: (await res.text()).trim() };
  };
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

export function createCronScheduler(opts: CronSchedulerOptions): CronScheduler {
  const schedules: CronSchedule[] = opts.crons.map(parseCron);
  const everyMinute = new Set(opts.everyMinute ?? []);
  const running = new Map<string, number>(); // cron → due minute of the run in flight
  const stopped = new AbortController();
  const width = Math.max(...opts.crons.map((c) => c.length));
  const line = (cron: string, minute: number, text: string) => opts.log(`cron      ${cron.padEnd(width)}  ${hhmm(minute)}Z  ${text}`);

  async function run(cron: string, minute: number): Promise<void> {
    const previous = running.get(cron);
    if (previous !== undefined) {
      line(cron, minute, `skipped: the ${hhmm(previous)}Z run is still going`);
      return;
    }
    running.set(cron, minute);
    const started = Date.now();
    try {
      const { status, body } = await opts.trigger(cron, minute, stopped.signal);
      const took = `in ${Date.now() - started} ms`;
      line(
        cron,
        minute,
        status === 200 ? `ok (${status}) ${took}` : `FAILED (${status} ${body.slice(0, 80)}) ${took}: see the Worker's job.failed lines`,
      );
    } catch (err) {
      if (!stopped.signal.aborted) line(cron, minute, `FAILED: ${(err as Error).message} after ${Date.now() - started} ms`);
    } finally {
      running.delete(cron);
    }
  }

  return {
    async tick(minute) {
      if (stopped.signal.aborted) return;
      const at = new Date(minute);
      const due = schedules.filter((s) => everyMinute.has(s.expr) || s.matches(at)).map((s) => run(s.expr, minute));
      await Promise.all(due);
    },
    stop() {
      stopped.abort();
    },
  };
}

/**
 * Tick at every minute boundary of the wall clock until stopped. A late wake-up (a suspended
 * laptop) fires only the current minute, as Cloudflare does not replay missed crons either.
 */
export function startCronScheduler(opts: CronSchedulerOptions): CronScheduler {
  const scheduler = createCronScheduler(opts);
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    // Never the same minute twice, even when the timer fires a few ms before the boundary.
    const next = Math.max(Math.floor(Date.now() / MINUTE) * MINUTE + MINUTE, last + MINUTE);
    timer = setTimeout(() => {
      last = Math.max(next, Math.floor(Date.now() / MINUTE) * MINUTE);
      void scheduler.tick(last);
      arm();
    }, next - Date.now());
  };
  arm();
  return {
    tick: scheduler.tick,
    stop() {
      clearTimeout(timer);
      scheduler.stop();
    },
  };
}
