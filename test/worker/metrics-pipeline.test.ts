// Real traffic with injected latency and 5xx → metrics middleware → isolate histograms → EVENTS
// queue → metrics.histogram consumer → request_metrics_minute → vw_kernel_slos. Each test records
// under its own operation name (x-fault-op), so the shared database's other traffic cannot interfere.
import { afterAll, describe, expect, it } from 'vitest';
import { bucketIndex, bucketUpperMs } from '../../src/observability/histogram';
import { eventually, faultHeaders, rollupTotals } from './slo-support';
import { call, testDb } from './support';

const db = testDb();
afterAll(() => db.end());

/** Nearest-rank percentile of exact values (what histogram_quantile approximates). */
function exactPercentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(Math.ceil(q * sorted.length), 1) - 1]!;
}

/** The latency the Worker measured and recorded for one response (Server-Timing, non-production). */
function measured(res: Response): number {
  const m = /app;dur=([\d.e+-]+)/.exec(res.headers.get('server-timing') ?? '');
  if (!m) throw new Error('no Server-Timing header');
  return Number(m[1]);
}

describe('request metrics pipeline', () => {
  it('percentiles in vw_kernel_slos are within one histogram bucket of the exact latencies', async () => {
    const op = `test.latency.${crypto.randomUUID()}`;
    // Injected delays spread from 20 ms to 400 ms; the exact values are what the Worker measured.
    const delays = Array.from({ length: 40 }, (_, i) => Math.round(20 * 20 ** (i / 39)));
    const results = await Promise.all(delays.map((d) => call(`/test-traffic/${d}`, { headers: faultHeaders({ op, delayMs: d }) })));
    expect(results.every((r) => r.status === 404)).toBe(true);
    const exactLatencies = results.map((r) => measured(r.res));
    expect(exactLatencies.every((ms, i) => ms >= delays[i]!)).toBe(true); // the injected delay is in there

    const row = await eventually(
      async () => {
        const [r] = await db.query<{ requests: string; errors: string; p50_ms: number; p95_ms: number; p99_ms: number }>(
          'SELECT requests, errors, p50_ms, p95_ms, p99_ms FROM public.vw_kernel_slos WHERE operation = $1',
          [op],
        );
        return r && Number(r.requests) === delays.length ? r : undefined;
      },
      20_000,
      `40 requests of ${op} in vw_kernel_slos`,
    );

    expect(Number(row.errors)).toBe(0);
    for (const [q, got] of [
      [0.5, row.p50_ms],
      [0.95, row.p95_ms],
      [0.99, row.p99_ms],
    ] as const) {
      const exact = exactPercentile(exactLatencies, q);
      const idx = bucketIndex(exact);
      // Within the bucket that holds the exact value: [upper(idx-1), upper(idx)].
      expect(got, `p${q * 100}: exact ${exact} ms`).toBeGreaterThanOrEqual(bucketUpperMs(idx - 1));
      expect(got, `p${q * 100}: exact ${exact} ms`).toBeLessThanOrEqual(bucketUpperMs(idx));
    }
  });

  it('counts injected 5xx as errors and the rest as successes', async () => {
    const op = `test.errors.${crypto.randomUUID()}`;
    const failing = Array.from({ length: 7 }, () => call('/test-traffic', { headers: faultHeaders({ op, status: 503 }) }));
    const ok = Array.from({ length: 13 }, () => call('/test-traffic', { headers: faultHeaders({ op }) }));
    const statuses = (await Promise.all([...failing, ...ok])).map((r) => r.status);
    expect(statuses.filter((s) => s === 503)).toHaveLength(7);
    const totals = await eventually(
      async () => {
        const t = await rollupTotals(db, op);
        return t.requests === 20 ? t : undefined;
      },
      20_000,
      `20 requests of ${op}`,
    );
    expect(totals.errors).toBe(7);
    expect(totals.buckets.reduce((a, b) => a + b, 0)).toBe(20);
  });
});
