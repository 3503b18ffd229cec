// GET /admin/metrics: OpenMetrics text from the rollups and views, parsed with an exposition-format
// parser from npm (parse-prometheus-text-format; it throws on any line that is not valid text
// format). Real traffic with injected latency and 5xx on an operation of its own, an SLO target for
// it, queue rows of a topic of its own: every family is checked against what Postgres holds.

import { SELF } from 'cloudflare:test';
import parse, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketUpperMs } from '../../src/observability/histogram';
import { eventually, faultHeaders, rollupTotals } from './slo-support';
import { BASE, call, envelope, serviceHeaders, testDb } from './support';

const db = testDb();
const op = `test.metrics.${crypto.randomUUID()}`;
const topic = `test.metrics.${crypto.randomUUID()}`;

beforeAll(async () => {
  await db.query(`INSERT INTO public.slo_targets (operation, latency_p95_ms, availability_target) VALUES ($1, 1000, 0.99)`, [op]);
  // 6 requests ≥ 300 ms and 2 injected 503s.
  const res = await Promise.all([
    ...Array.from({ length: 6 }, () => call('/metrics-traffic', { headers: faultHeaders({ op, delayMs: 300 }) })),
    ...Array.from({ length: 2 }, () => call('/metrics-traffic', { headers: faultHeaders({ op, status: 503 }) })),
  ]);
  expect(res.map((r) => r.status).sort()).toEqual([404, 404, 404, 404, 404, 404, 503, 503]);
  await eventually(async () => (await rollupTotals(db, op)).requests === 8, 20_000, `8 requests of ${op}`);
  // Two queued events (the oldest 120 s old) and one dead letter, under a topic nobody relays.
  await db.query(
    `INSERT INTO public.events_queue (topic, status, created_at, dead_at) VALUES
       ($1, 'queued', now() - interval '120 seconds', NULL), ($1, 'queued', now(), NULL), ($1, 'error', now(), now())`,
    [topic],
  );
}, 30_000);

afterAll(async () => {
  await db.query('DELETE FROM public.events_queue WHERE topic = $1', [topic]);
  await db.query('DELETE FROM public.slo_targets WHERE operation = $1', [op]);
  await db.end();
});

async function scrape(): Promise<{ text: string; families: Map<string, ParsedFamily> }> {
  const res = await SELF.fetch(`${BASE}/admin/metrics`, { headers: serviceHeaders() });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
  // Decoded by hand: workerd warns when .text() meets a content type it does not know as text.
  const text = new TextDecoder().decode(await res.arrayBuffer());
  return { text, families: new Map(parse(text).map((f) => [f.name, f])) };
}

const gauge = (f: Map<string, ParsedFamily>, name: string, labels: Record<string, string>) => {
  const family = f.get(name);
  expect(family?.type).toBe('GAUGE');
  const s = family!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return s === undefined ? undefined : Number(s.value);
};

/** Scrape while `read` (Postgres) gives the same answer before and after: other test files write too. */
async function scrapeStable<T>(read: () => Promise<T>) {
  for (let i = 0; ; i++) {
    const before = await read();
    const s = await scrape();
    const after = await read();
    if (JSON.stringify(before) === JSON.stringify(after) || i === 5) return { ...s, db: after };
  }
}

describe('GET /admin/metrics', () => {
  it('needs the service key', async () => {
    const res = await call('/admin/metrics');
    expect(res.status).toBe(401);
    envelope(res.json);
  });

  it('is valid exposition text ending with # EOF, with every family typed and described', async () => {
    const { text, families } = await scrape();
    expect(text.endsWith('\n# EOF\n')).toBe(true);
    const expected = {
      edge_request_duration_seconds: 'HISTOGRAM',
      edge_request_errors: 'GAUGE',
      edge_queue_depth: 'GAUGE',
      edge_queue_oldest_age_seconds: 'GAUGE',
      edge_dlq_size: 'GAUGE',
      edge_slo_burn_rate: 'GAUGE',
      edge_slo_availability_target: 'GAUGE',
      edge_slo_alert: 'GAUGE',
      edge_safe_mode: 'GAUGE',
      edge_flag_revision: 'GAUGE',
    };
    expect(Object.fromEntries([...families].map(([name, f]) => [name, f.type]))).toEqual(expected);
    for (const f of families.values()) expect(f.help.length).toBeGreaterThan(10);
  });

  it("the operation's latency histogram is its last hour of rollups (cumulative, seconds), with its errors", async () => {
    const { text, families } = await scrape();
    const totals = await rollupTotals(db, op);
    // The parser folds a labelled histogram's series into one; parse this operation's series alone
    // (its TYPE line and the lines carrying its label) to read them back.
    const mine = text.split('\n').filter((l) => l.startsWith('# TYPE edge_request_duration_seconds ') || l.includes(`{operation="${op}"`));
    const [hist] = parse(mine.join('\n'));
    expect(hist?.type).toBe('HISTOGRAM');
    const buckets = hist!.metrics[0]!.buckets!;
    const bounds = Object.keys(buckets);
    expect(bounds.at(-1)).toBe('+Inf');
    expect(bounds).toHaveLength(18);
    for (const [k, le] of bounds.slice(0, -1).entries()) {
      expect(Number(le)).toBe(bucketUpperMs(4 * k) / 1000);
      const below = totals.buckets.slice(0, 4 * k + 1).reduce((a, b) => a + b, 0);
      expect(Number(buckets[le]), `le=${le}`).toBe(below);
    }
    expect(Number(buckets['+Inf'])).toBe(8);
    expect(Number(buckets['0.256'])).toBeLessThanOrEqual(2); // the 6 delayed requests took ≥ 300 ms
    const countLine = mine.find((l) => l.startsWith(`edge_request_duration_seconds_count{operation="${op}"}`));
    expect(countLine?.split(' ')[1]).toBe('8');
    const sumLine = mine.find((l) => l.startsWith(`edge_request_duration_seconds_sum{operation="${op}"}`));
    expect(Number(sumLine?.split(' ')[1])).toBeGreaterThanOrEqual(1.8);
    expect(gauge(families, 'edge_request_errors', { operation: op })).toBe(2);
  });

  it("burn rates, the SLO target and the multi-window alerts of the operation's SLO", async () => {
    const { families } = await scrape();
    // 2 errors in 8 requests against a 99 % target: (2/8) / 0.01 = 25 in every window.
    for (const window of ['5m', '30m', '1h', '6h']) expect(gauge(families, 'edge_slo_burn_rate', { operation: op, window })).toBe(25);
    expect(gauge(families, 'edge_slo_availability_target', { operation: op })).toBe(0.99);
    expect(gauge(families, 'edge_slo_alert', { operation: op, severity: 'page' })).toBe(1);
    expect(gauge(families, 'edge_slo_alert', { operation: op, severity: 'ticket' })).toBe(1);
  });

  it('queue depth and oldest age per topic, and the dead-letter queue size per source', async () => {
    const read = async () =>
      (await db.query<{ source: string; n: string }>(`SELECT source, count(*) AS n FROM public.vw_dead_letter_queue GROUP BY source`)).map(
        (r) => [r.source, Number(r.n)],
      );
    const { families, db: dlq } = await scrapeStable(read);
    expect(gauge(families, 'edge_queue_depth', { queue: 'events', topic, status: 'queued' })).toBe(2);
    const age = gauge(families, 'edge_queue_oldest_age_seconds', { queue: 'events', topic, status: 'queued' })!;
    expect(age).toBeGreaterThanOrEqual(120);
    expect(age).toBeLessThan(180);
    const dead = Object.fromEntries(dlq);
    expect(dead.events).toBeGreaterThanOrEqual(1); // ours
    expect(gauge(families, 'edge_dlq_size', { source: 'events' })).toBe(dead.events);
    expect(gauge(families, 'edge_dlq_size', { source: 'discovery' })).toBe(dead.discovery ?? 0);
  });

  it('safe mode (0/1) and every flag revision, as Postgres holds them', async () => {
    const read = () =>
      db.query<{ key: string; rev: number; on: boolean | null }>(
        `SELECT f.key, coalesce(s.rev, 0)::int AS rev, CASE WHEN f.key = 'global.safe_mode' THEN (f.value ->> 'enabled')::boolean END AS on
         FROM public.feature_flags f LEFT JOIN public.feature_flag_sync s ON s.key = f.key ORDER BY f.key`,
      );
    const { families, db: flags } = await scrapeStable(read);
    expect(flags.length).toBeGreaterThan(0);
    const safe = flags.find((f) => f.key === 'global.safe_mode');
    expect(families.get('edge_safe_mode')?.metrics).toEqual([{ value: safe?.on ? '1' : '0' }]);
    const revisions = families.get('edge_flag_revision')!.metrics.map((m) => [m.labels!.flag, Number(m.value)]);
    expect(revisions).toEqual(flags.map((f) => [f.key, f.rev]));
  });
});
