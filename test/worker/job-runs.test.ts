// public.job_runs: the outcome of routine work, out of ai_action_ledger. Every cron job run (ok,
// failed, paused) and every "run it now" route leaves one row; none of them leaves a ledger row;
// gc-job-runs keeps the table to its retention window.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { schedules } from '../../src/jobs';
import { useFreshWorkerDatabase } from './fresh-db';

const fresh = useFreshWorkerDatabase();

async function runCron(cron: string, scheduledTime = Date.now()): Promise<void> {
  const ctx = createExecutionContext();
  try {
    await worker.scheduled(createScheduledController({ cron, scheduledTime }), fresh.env, ctx);
  } finally {
    await waitOnExecutionContext(ctx);
  }
}

const ledgerRowsFor = (requestId: string) =>
  fresh.db.query('SELECT action FROM public.ai_action_ledger WHERE request_id = $1', [requestId]);

describe('on-demand runs through the API', () => {
  it.each([
    ['/admin/policy/rollup', 'learning-rollup'],
    ['/functions/v1/hydrate-features', 'hydrate-features'],
    ['/functions/v1/rocker-discovery-run', 'discovery-relay'],
    ['/admin/rate-limits/sync', 'ratelimit-sync'],
  ])('POST %s: a job_runs row with who asked, no ledger row', async (path, job) => {
    const requestId = `job-runs-${crypto.randomUUID()}`;
    const res = await fresh.fetch(path, { method: 'POST', headers: { 'x-actor': 'cli', 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    const runs = await fresh.db.query(
      'SELECT job, trigger, source, actor, status, result, scheduled_at FROM public.job_runs WHERE request_id = $1',
      [requestId],
    );
    expect(runs).toEqual([
      { job, trigger: 'api', source: `POST ${path}`, actor: 'cli', status: 'ok', result: res.json, scheduled_at: null },
    ]);
    expect(await ledgerRowsFor(requestId)).toEqual([]);
  });
});

describe('cron runs', () => {
  it('every job of an invocation, in one insert: ok with its counts, scheduled_at = the trigger time', async () => {
    const at = Date.UTC(2026, 0, 5, 12, 5);
    await runCron('*/5 * * * *', at);
    const runs = await fresh.db.query<{ job: string; status: string; request_id: string; result: unknown }>(
      'SELECT job, trigger, source, actor, status, request_id, result FROM public.job_runs WHERE scheduled_at = $1 ORDER BY id',
      [new Date(at)],
    );
    expect(runs.map((r) => [r.job, r.status])).toEqual([
      ['learning-rollup', 'ok'],
      ['hydrate-features', 'ok'],
    ]);
    expect(runs[0]).toMatchObject({ trigger: 'cron', source: '*/5 * * * *', actor: 'cron' });
    expect(runs[0]!.request_id).toBe(runs[1]!.request_id); // one invocation, one log id
    expect(runs[0]!.result).toHaveProperty('events');
    expect(await ledgerRowsFor(runs[0]!.request_id)).toEqual([]);
  });

  it('a failing job: status failed with the error, the other jobs still recorded ok', async () => {
    const at = Date.UTC(2026, 0, 5, 12, 6);
    await fresh.db.query('ALTER TABLE public.rate_limits RENAME TO rate_limits_away');
    try {
      await expect(runCron('* * * * *', at)).rejects.toThrow(/jobs failed: ratelimit-sync/);
    } finally {
      await fresh.db.query('ALTER TABLE public.rate_limits_away RENAME TO rate_limits');
    }
    const runs = await fresh.db.query<{ job: string; status: string; error: string | null }>(
      'SELECT job, status, error FROM public.job_runs WHERE scheduled_at = $1 ORDER BY id',
      [new Date(at)],
    );
    // Every per-minute job in schedule order (read from src/jobs.ts, so a new job joins the check):
    // only the one that reads rate_limits failed.
    expect(runs.map((r) => [r.job, r.status])).toEqual(
      schedules['* * * * *']!.map((j) => [j.name, j.name === 'ratelimit-sync' ? 'failed' : 'ok']),
    );
    expect(runs.map((r) => r.job)).toContain('ratelimit-sync');
    expect(runs.find((r) => r.job === 'ratelimit-sync')!.error).toMatch(/rate_limits/);
  });

  it('while paused: pausable jobs are recorded as paused', async () => {
    expect((await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: true, reason: 'test' } })).status).toBe(200);
    const at = Date.UTC(2026, 0, 5, 12, 10);
    try {
      await runCron('*/5 * * * *', at);
    } finally {
      expect((await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: false } })).status).toBe(200);
    }
    const runs = await fresh.db.query('SELECT job, status, result FROM public.job_runs WHERE scheduled_at = $1 ORDER BY id', [
      new Date(at),
    ]);
    expect(runs).toEqual([
      { job: 'learning-rollup', status: 'paused', result: { flag: 'ops.pause_jobs' } },
      { job: 'hydrate-features', status: 'paused', result: { flag: 'ops.pause_jobs' } },
    ]);
  });
});

describe('retention', () => {
  it('gc-job-runs (0 2 * * *) deletes runs past the retention_policies window and keeps recent ones', async () => {
    const [policy] = await fresh.db.query("SELECT retain::text AS retain FROM public.retention_policies WHERE table_name = 'job_runs'");
    expect(policy).toEqual({ retain: '14 days' });
    const marker = `gc-${crypto.randomUUID()}`;
    await fresh.db.query(
      `INSERT INTO public.job_runs (job, trigger, source, actor, status, started_at, duration_ms, request_id)
       VALUES ('old', 'cron', '* * * * *', 'cron', 'ok', now() - interval '15 days', 1, $1),
              ('recent', 'cron', '* * * * *', 'cron', 'ok', now() - interval '13 days', 1, $1)`,
      [marker],
    );
    await runCron('0 2 * * *');
    expect(await fresh.db.query('SELECT job FROM public.job_runs WHERE request_id = $1', [marker])).toEqual([{ job: 'recent' }]);
    const [gc] = await fresh.db.query<{ status: string; result: { deleted: number } }>(
      "SELECT status, result FROM public.job_runs WHERE job = 'gc-job-runs' ORDER BY id DESC LIMIT 1",
    );
    expect(gc).toMatchObject({ status: 'ok', result: { deleted: 1, batches: 1 } });
  });
});
