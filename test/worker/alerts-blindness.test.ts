// Alerts that see their own blindness (issue 20), through the real evaluator on a private
// database at simulated times: a firing alert whose metric stops stays firing and, after the
// rule's no_data_seconds, metrics_stale pages about it; the seeded watchdogs — metric freshness,
// cron heartbeats from public.job_runs, DLQ size — fire on what they watch; the dashboard shows them.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { useFreshWorkerDatabase } from './fresh-db';
import { BASE, serviceHeaders } from './support';

const fresh = useFreshWorkerDatabase();
const MIN = 60_000;

interface Eval {
  transitions: { rule_id: string; subject: string; from: string | null; to: string; severity: string; value: number | null }[];
  errors: unknown[];
}

async function evaluate(ruleIds: string[], at: number): Promise<Eval> {
  const res = await fresh.fetch('/admin/alerts/evaluate', { method: 'POST', json: { rule_ids: ruleIds, at: new Date(at).toISOString() } });
  expect(res.status).toBe(200);
  expect(res.json.errors).toEqual([]);
  return res.json as Eval;
}

const gauge = (metric: string, subject: string, minute: number, value: number) =>
  fresh.db.query(
    `INSERT INTO public.gauge_metrics_minute (metric, subject, minute, value, samples) VALUES ($1, $2, $3, $4, 1)
     ON CONFLICT (metric, subject, minute) DO UPDATE SET value = EXCLUDED.value`,
    [metric, subject, new Date(minute), value],
  );

const run = (job: string, source: string, status: string, at: number) =>
  fresh.db.query(
    `INSERT INTO public.job_runs (job, trigger, source, actor, status, scheduled_at, started_at, duration_ms, request_id)
     VALUES ($1, 'cron', $2, 'cron', $3, $4, $4, 5, gen_random_uuid()::text)`,
    [job, source, status, new Date(at)],
  );

describe('no data is not clear', () => {
  it('a firing alert whose metric stops stays firing; metrics_stale pages after no_data_seconds, and both resolve on data', async () => {
    const t0 = Date.UTC(2021, 4, 3, 10, 0);
    const rule = 't_blind_dlq';
    await fresh.db.query(
      `INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, severity, clear_for_seconds, no_data_seconds)
       VALUES ($1, 'test: dead letters of events', 'dlq.size', 'events', '>', 0, 0, 'ticket', 0, 300)`,
      [rule],
    );
    await gauge('dlq.size', 'events', t0, 2);
    const first = await evaluate([rule, 'metrics_stale'], t0 + 5_000);
    expect(first.transitions).toMatchObject([{ rule_id: rule, to: 'firing', value: 2 }]);

    // The sampler dies: no dlq.size sample within 10 minutes. The alert does not turn green.
    expect((await evaluate([rule, 'metrics_stale'], t0 + 4 * MIN)).transitions).toEqual([]);
    const blind = await evaluate([rule, 'metrics_stale'], t0 + 11 * MIN);
    expect(blind.transitions).toEqual([
      { ...blind.transitions[0], rule_id: 'metrics_stale', subject: rule, from: null, to: 'firing', severity: 'page' },
    ]);
    const [open] = await fresh.db.query<{ state: string }>(`SELECT state FROM public.alerts WHERE rule_id = $1`, [rule]);
    expect(open!.state).toBe('firing');

    // Data again, and clear: the rule resolves (its clear_for is 0); metrics_stale after its 120 s.
    await gauge('dlq.size', 'events', t0 + 12 * MIN, 0);
    const back = await evaluate([rule, 'metrics_stale'], t0 + 12 * MIN + 5_000);
    expect(back.transitions).toMatchObject([{ rule_id: rule, from: 'firing', to: 'resolved' }]);
    await gauge('dlq.size', 'events', t0 + 14 * MIN, 0);
    const seen = await evaluate([rule, 'metrics_stale'], t0 + 14 * MIN + 5_000);
    expect(seen.transitions).toMatchObject([{ rule_id: 'metrics_stale', subject: rule, from: 'firing', to: 'resolved' }]);
  });
});

describe('seeded watchdogs', () => {
  it('metric freshness, cron heartbeats, DLQ size: each fires on what it watches, and the dashboard shows them', async () => {
    const now = Date.now();
    // Request rollups stopped 20 minutes ago; the sampler is alive (a gauge a minute ago).
    await fresh.db.query(`INSERT INTO public.request_metrics_minute (operation, minute, requests) VALUES ('GET /health', $1, 3)`, [
      new Date(Math.floor((now - 20 * MIN) / MIN) * MIN),
    ]);
    const minute = Math.floor((now - MIN) / MIN) * MIN;
    await gauge('dlq.size', 'discovery', minute, 3);
    await gauge('dlq.size', 'events', minute, 0);
    // flag-sync (every minute) last succeeded 10 minutes ago and failed since; learning-rollup
    // (every 5 minutes) 2 minutes ago.
    await run('flag-sync', '* * * * *', 'ok', now - 10 * MIN);
    await run('flag-sync', '* * * * *', 'failed', now - MIN);
    await run('learning-rollup', '*/5 * * * *', 'ok', now - 2 * MIN);

    const r = await evaluate(['metrics_fresh', 'cron_heartbeat', 'dlq_size'], now);
    const fired = r.transitions.map((t) => [t.rule_id, t.subject, t.to, t.severity]).sort();
    expect(fired).toEqual([
      ['cron_heartbeat', 'flag-sync', 'firing', 'page'],
      ['dlq_size', 'discovery', 'firing', 'ticket'],
      ['metrics_fresh', 'requests', 'firing', 'page'],
    ]);

    const ctx = createExecutionContext();
    const page = await worker.fetch(new Request(`${BASE}/admin/dashboard`, { headers: serviceHeaders() }), fresh.env, ctx);
    const html = await page.text();
    await waitOnExecutionContext(ctx);
    expect(page.status).toBe(200);
    expect(html).toContain('data-panel="watchdogs"');
    expect(html).toContain('data-overdue-jobs="flag-sync"');
    expect(html).toMatch(/learning-rollup<\/td>/);
    expect(html).toContain('3 dead letters');
    for (const id of ['cron_heartbeat', 'dlq_size', 'metrics_fresh']) expect(html).toContain(id); // in the alerts panel
  });
});
