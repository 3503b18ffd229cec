// vw_kernel_slos / vw_slo_burnrate maths, through their "as of" functions on rollups placed at a
// fixed past moment under test-only operation names (so the shared database's live traffic and
// the seeded alert rules never see them): percentiles within one bucket of the exact values,
// burn rates per window and the SRE workbook's page/ticket states. Plus the metrics retention GC.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketIndex, bucketUpperMs, quantile, record } from '../../src/observability/histogram';
import { connect, freshDatabase } from '../support/pg';

let db: pg.Client;
const ops: string[] = [];
beforeAll(async () => {
  db = await connect();
});
afterAll(async () => {
  await db.query('DELETE FROM public.slo_targets WHERE operation = ANY($1)', [ops]);
  await db.end();
});

// "now" for these tests: 20 days ago, on a minute. Far enough back that no live window sees it,
// recent enough that the nightly metrics GC (35 days) of a parallel test file leaves it alone.
const T = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 20 * 86_400_000);
const minutesAgo = (m: number) => new Date(T.getTime() - m * 60_000).toISOString();

async function rollup(op: string, minute: string, requests: number, errors: number, latencies: number[] = []) {
  const hist: number[] = [];
  for (const ms of latencies) record(hist, ms);
  if (latencies.length === 0) record(hist, 10, requests);
  await db.query(
    `INSERT INTO public.request_metrics_minute (operation, minute, requests, errors, latency_sum_ms, buckets)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [op, minute, requests, errors, latencies.reduce((a, b) => a + b, 0), hist],
  );
}

async function newOp(target?: { p95: number; availability: number }) {
  const op = `test.slo.${crypto.randomUUID()}`;
  ops.push(op);
  if (target) {
    await db.query('INSERT INTO public.slo_targets (operation, latency_p95_ms, availability_target) VALUES ($1, $2, $3)', [
      op,
      target.p95,
      target.availability,
    ]);
  }
  return op;
}

const nearestRank = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.max(Math.ceil(q * values.length), 1) - 1]!;

describe('kernel_slos_at / vw_kernel_slos', () => {
  it('p50/p95/p99 over the hour equal the merged histogram and lie in the bucket of the exact value', async () => {
    const op = await newOp({ p95: 250, availability: 0.99 });
    const all: number[] = [];
    for (let m = 0; m < 60; m += 7) {
      const lat = Array.from({ length: 30 }, (_, i) => 5 + ((i * 37 + m * 11) % 400));
      all.push(...lat);
      await rollup(op, minutesAgo(m), lat.length, m === 0 ? 3 : 0, lat);
    }
    await rollup(op, minutesAgo(60), 1000, 1000, Array(1000).fill(5000)); // just outside the hour
    const {
      rows: [r],
    } = await db.query('SELECT * FROM public.kernel_slos_at($1) WHERE operation = $2', [T, op]);
    expect(Number(r.requests)).toBe(all.length);
    expect(Number(r.errors)).toBe(3);
    expect(Number(r.error_rate)).toBeCloseTo(3 / all.length, 5);
    const merged: number[] = [];
    for (const ms of all) record(merged, ms);
    for (const [q, col] of [
      [0.5, 'p50_ms'],
      [0.95, 'p95_ms'],
      [0.99, 'p99_ms'],
    ] as const) {
      expect(r[col]).toBe(quantile(merged, q));
      const idx = bucketIndex(nearestRank(all, q));
      expect(r[col]).toBeGreaterThanOrEqual(bucketUpperMs(idx - 1));
      expect(r[col]).toBeLessThanOrEqual(bucketUpperMs(idx));
    }
    expect(r.target_p95_ms).toBe(250);
    expect(r.met).toBe(false); // p95 ~ 380 ms > 250 ms
    // The live view (now()) does not see 20 days ago.
    const live = await db.query('SELECT 1 FROM public.vw_kernel_slos WHERE operation = $1', [op]);
    expect(live.rows).toEqual([]);
  });

  it('an operation without a target is listed with met = NULL', async () => {
    const op = await newOp();
    await rollup(op, minutesAgo(1), 10, 0);
    const {
      rows: [r],
    } = await db.query('SELECT met, target_p95_ms FROM public.kernel_slos_at($1) WHERE operation = $2', [T, op]);
    expect(r).toEqual({ met: null, target_p95_ms: null });
  });
});

describe('slo_burnrate_at / vw_slo_burnrate', () => {
  it('burn rate per window = error ratio / (1 - availability target)', async () => {
    const op = await newOp({ p95: 500, availability: 0.99 });
    await rollup(op, minutesAgo(0), 100, 5); // 5 m, 30 m, 1 h, 6 h
    await rollup(op, minutesAgo(10), 100, 0); // 30 m, 1 h, 6 h
    await rollup(op, minutesAgo(45), 200, 2); // 1 h, 6 h
    await rollup(op, minutesAgo(180), 1000, 10); // 6 h
    await rollup(op, minutesAgo(400), 5000, 5000); // outside every window
    const {
      rows: [b],
    } = await db.query('SELECT * FROM public.slo_burnrate_at($1) WHERE operation = $2', [T, op]);
    expect(Number(b.burn_rate_5m)).toBeCloseTo(5 / 100 / 0.01, 3); // 5.0
    expect(Number(b.burn_rate_30m)).toBeCloseTo(5 / 200 / 0.01, 3); // 2.5
    expect(Number(b.burn_rate_1h)).toBeCloseTo(7 / 400 / 0.01, 3); // 1.75
    expect(Number(b.burn_rate_6h)).toBeCloseTo(17 / 1400 / 0.01, 3); // 1.214
    expect(b.burn_rate).toBe(b.burn_rate_1h);
    expect(Number(b.requests_1h)).toBe(400);
    expect(Number(b.errors_1h)).toBe(7);
    expect(b.page_alert).toBe(false);
    expect(b.ticket_alert).toBe(false);
  });

  it('page when 1 h and 5 m both exceed 14.4; ticket when 6 h and 30 m both exceed 6', async () => {
    const fast = await newOp({ p95: 500, availability: 0.999 });
    await rollup(fast, minutesAgo(2), 1000, 30); // 5 m: 30 / 1000 / 0.001 = 30
    await rollup(fast, minutesAgo(40), 1000, 0); // 1 h: 30 / 2000 / 0.001 = 15 → page
    const spike = await newOp({ p95: 500, availability: 0.999 });
    await rollup(spike, minutesAgo(1), 100, 10); // 5 m: 100
    await rollup(spike, minutesAgo(50), 10_000, 0); // 1 h: 10 / 10100 / 0.001 ≈ 0.99 → no page
    const slow = await newOp({ p95: 500, availability: 0.999 });
    await rollup(slow, minutesAgo(20), 1000, 8); // 30 m: 8 → 6 h: 8/1000... + below
    await rollup(slow, minutesAgo(200), 1000, 6); // 6 h: 14 / 2000 / 0.001 = 7 → ticket
    const { rows } = await db.query(
      'SELECT operation, page_alert, ticket_alert FROM public.slo_burnrate_at($1) WHERE operation = ANY($2)',
      [T, [fast, spike, slow]],
    );
    const byOp = Object.fromEntries(rows.map((r) => [r.operation, [r.page_alert, r.ticket_alert]]));
    expect(byOp[fast]).toEqual([true, true]); // a fast burn is a slow burn too (6 h 15, 30 m 30)
    expect(byOp[spike]).toEqual([false, false]); // a 5-minute spike alone does not page
    expect(byOp[slow]).toEqual([false, true]);
  });

  it('slo_burnrate_series gives one point per step, NULL where there was no traffic', async () => {
    const op = await newOp({ p95: 500, availability: 0.99 });
    await rollup(op, minutesAgo(0), 100, 4); // last step
    await rollup(op, minutesAgo(25), 50, 0); // step 3 of 6 (10-minute steps: 59..0 minutes ago)
    const { rows } = await db.query(
      'SELECT step, requests, burn_rate FROM public.slo_burnrate_series($1, 10, 6) WHERE operation = $2 ORDER BY step',
      [T, op],
    );
    expect(rows.map((r) => [r.step, Number(r.requests), r.burn_rate === null ? null : Number(r.burn_rate)])).toEqual([
      [0, 0, null],
      [1, 0, null],
      [2, 0, null],
      [3, 50, 0],
      [4, 0, null],
      [5, 100, 4],
    ]);
  });
});

describe('gc_metrics', () => {
  it('deletes rollups, gauges and ledger ids past retention and closed alerts past 180 days; keeps open alerts', async () => {
    const fresh = await freshDatabase();
    const c = await connect(fresh.url);
    try {
      await c.query(`
        INSERT INTO public.request_metrics_minute (operation, minute, requests) VALUES
          ('old', date_trunc('minute', now() - interval '40 days'), 1), ('new', date_trunc('minute', now() - interval '30 days'), 1);
        INSERT INTO public.gauge_metrics_minute (metric, subject, minute, value) VALUES
          ('g', 'old', now() - interval '40 days', 1), ('g', 'new', now(), 1);
        INSERT INTO public.metrics_ingest_ledger (message_id, received_at) VALUES ('old-id', now() - interval '9 days'), ('new-id', now());
        INSERT INTO public.alerts (rule_id, subject, state, severity, threshold, pending_since, last_evaluated_at, created_at) VALUES
          ('http_5xx_rate', 'closed-old', 'resolved', 'page', 0.01, now(), now(), now() - interval '200 days'),
          ('http_5xx_rate', 'open-old', 'firing', 'page', 0.01, now(), now(), now() - interval '200 days'),
          ('http_5xx_rate', 'closed-new', 'cancelled', 'page', 0.01, now(), now(), now());`);
      const {
        rows: [r],
      } = await c.query('SELECT public.gc_metrics(5000) AS n');
      expect(Number(r.n)).toBe(4);
      const left = await c.query(`
        SELECT (SELECT array_agg(operation) FROM public.request_metrics_minute) AS rollups,
               (SELECT array_agg(subject) FROM public.gauge_metrics_minute) AS gauges,
               (SELECT array_agg(message_id) FROM public.metrics_ingest_ledger) AS ids,
               (SELECT array_agg(subject ORDER BY subject) FROM public.alerts) AS alerts`);
      expect(left.rows[0]).toEqual({ rollups: ['new'], gauges: ['new'], ids: ['new-id'], alerts: ['closed-new', 'open-old'] });
    } finally {
      await c.end();
      await fresh.drop();
    }
  });
});
