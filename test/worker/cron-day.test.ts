// A simulated day of crons after an operator's flag change: the four Cron Triggers of wrangler.toml
// run through the Worker's scheduled() handler with scheduledTime stepping through 24 hours
// (1,440 per-minute + 288 five-minute + 2 nightly invocations), on a database of its own.
// Routine runs must leave ai_action_ledger alone — they go to job_runs, the logs and the metrics —
// so the guide's §10 "View recent actions" still shows the change on top.
// Fast: nothing waits for the clock, and the day runs as LANES stretches of consecutive
// invocations side by side (each stretch in time order). Overlapping invocations are a case the
// jobs are built for anyway (a slow per-minute run overlaps the next): row locks, SKIP LOCKED,
// idempotent upserts. One invocation is ~100 ms of round trips here, so one lane would take minutes.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import guide from '../../docs/spec/day0-cutover-guide.md?raw';
import worker from '../../src/index';
import { schedules } from '../../src/jobs';
import { guideSqlOf } from '../support/guide-text';
import { useFreshWorkerDatabase } from './fresh-db';

const fresh = useFreshWorkerDatabase();

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Six stretches of four hours. */
const LANES = 6;

/** Which Cron Triggers fire at this minute (UTC), in the order we run them. */
function firing(t: number): string[] {
  const d = new Date(t);
  const m = d.getUTCMinutes();
  const h = d.getUTCHours();
  const crons = ['* * * * *'];
  if (m % 5 === 0) crons.push('*/5 * * * *');
  if (m === 0 && h === 2) crons.push('0 2 * * *');
  if (m === 0 && h === 3) crons.push('0 3 * * *');
  return crons;
}

async function runCron(cron: string, scheduledTime: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime }), fresh.env, ctx);
  await waitOnExecutionContext(ctx);
}

describe('a simulated day of crons', () => {
  it("keeps the operator's flag change on top of the guide's §10 query; every run is in job_runs", async () => {
    const recentActions = guideSqlOf(guide, 'Appendix: SQL Quick Reference').find((s) => s.includes('ai_action_ledger'))!;
    expect(recentActions).toBe('SELECT * FROM public.ai_action_ledger ORDER BY timestamp DESC LIMIT 20');

    // The operator: the guide's §3 abort switch, in SQL, from psql.
    const [enable] = guideSqlOf(guide, '3. Abort Switch');
    const psql = await fresh.db.pool.connect();
    try {
      await psql.query("SET application_name = 'psql'");
      await psql.query(enable!);
    } finally {
      psql.release(true);
    }
    const [last] = await fresh.db.query<{ id: string }>('SELECT max(id) AS id FROM public.ai_action_ledger');
    const changeId = last!.id;

    // Yesterday, 00:00 to 23:59 UTC.
    const start = Math.floor(Date.now() / DAY) * DAY - DAY;
    const due: { cron: string; t: number }[] = [];
    for (let t = start; t < start + DAY; t += MINUTE) for (const cron of firing(t)) due.push({ cron, t });
    const invocations: Record<string, number> = {};
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {}); // ~9,500 job lines
    const started = Date.now();
    const size = Math.ceil(due.length / LANES);
    try {
      const lanes = await Promise.allSettled(
        Array.from({ length: LANES }, async (_, lane) => {
          for (const { cron, t } of due.slice(lane * size, (lane + 1) * size)) {
            await runCron(cron, t); // a failing job fails the invocation: none may fail today
            invocations[cron] = (invocations[cron] ?? 0) + 1;
          }
        }),
      );
      for (const l of lanes) if (l.status === 'rejected') throw l.reason;
    } finally {
      quiet.mockRestore();
    }
    const elapsed = Date.now() - started;
    expect(invocations).toEqual({ '* * * * *': 1440, '*/5 * * * *': 288, '0 2 * * *': 1, '0 3 * * *': 1 });

    // The day wrote nothing to the ledger: no routine run is a decision or a change.
    const written = await fresh.db.query('SELECT id, actor, action, target FROM public.ai_action_ledger WHERE id > $1', [changeId]);
    expect(written).toEqual([]);

    // The guide's §10 query, verbatim: the change is the newest row, with who made it.
    const recent = await fresh.db.query<any>(recentActions);
    expect(recent[0]).toMatchObject({
      id: changeId,
      actor: 'sql',
      action: 'flag.set',
      target: 'global.safe_mode',
      old_value: { enabled: false },
      new_value: { enabled: true },
      metadata: { path: 'sql', via: 'trigger', application_name: 'psql', updated_by: 'sql:postgres' },
    });
    expect(
      recent.every((r) => !/rollup|hydrate|sync|relay|gc|sampler|evaluate/.test(r.action)),
      JSON.stringify(recent),
    ).toBe(true);

    // Every job of every invocation, once each, ok: the outcome of routine work is here instead.
    const runs = await fresh.db.query<{ job: string; source: string; status: string; n: string }>(
      `SELECT job, source, status, count(*)::text AS n FROM public.job_runs WHERE trigger = 'cron' GROUP BY 1, 2, 3 ORDER BY 2, 1`,
    );
    const expected = Object.entries(schedules).flatMap(([cron, jobs]) =>
      jobs.map((j) => ({ job: j.name, source: cron, status: 'ok', n: String(invocations[cron]) })),
    );
    expect(runs).toEqual(expect.arrayContaining(expected));
    expect(runs).toHaveLength(expected.length);
    const [span] = await fresh.db.query<{ min: Date; max: Date; busy: string }>(
      `SELECT min(scheduled_at) AS min, max(scheduled_at) AS max, sum(duration_ms)::text AS busy FROM public.job_runs WHERE trigger = 'cron'`,
    );
    expect([span!.min.getTime(), span!.max.getTime()]).toEqual([start, start + DAY - MINUTE]);

    // The report: the day in numbers and the last 20 rows the operator sees.
    console.log(
      `cron-day: ${Object.values(invocations).reduce((a, b) => a + b, 0)} invocations ${JSON.stringify(invocations)} in ${elapsed} ms ` +
        `(${LANES} lanes; the jobs themselves ${span!.busy} ms); ` +
        `job_runs ${runs.reduce((n, r) => n + Number(r.n), 0)}; ledger rows written during the day: ${written.length}`,
    );
    console.log(`cron-day: ${recentActions}\n${recent.map((r) => JSON.stringify(r)).join('\n')}`);
  }, 900_000);
});
