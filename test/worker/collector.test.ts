// (Pure logic, run inside workerd because it uses the Worker's Env type.)
// Isolate aggregation: observations become one series per (operation, minute); shipping splits
// into bounded messages; a failed send is merged back; the flush is armed once per slice.
import { describe, expect, it } from 'vitest';
import { HistogramBuffer, MAX_SERIES, MetricsShipper, toMessages } from '../../src/observability/collector';
import { createLogger } from '../../src/observability/logger';

const minute = Date.UTC(2026, 0, 1, 12, 0);

describe('HistogramBuffer', () => {
  it('aggregates per operation and minute: counts, failures, latency sum, histogram', () => {
    const b = new HistogramBuffer();
    b.observe('GET /a', 10, false, minute + 1_000);
    b.observe('GET /a', 20, true, minute + 59_000);
    b.observe('GET /a', 30, false, minute + 60_000); // next minute
    b.observe('auth.login', 0.5, false, minute);
    expect(b.size).toBe(3);
    const series = b.drain();
    expect(b.size).toBe(0);
    const a = series.find((s) => s.op === 'GET /a' && s.minute === new Date(minute).toISOString())!;
    expect(a).toMatchObject({ n: 2, err: 1, ms: 30 });
    expect(a.b.reduce((x, y) => x + y, 0)).toBe(2);
    expect(series.find((s) => s.op === 'auth.login')!.b).toEqual([1]);
  });

  it('restore() merges a failed shipment back without losing or doubling counts', () => {
    const b = new HistogramBuffer();
    b.observe('op', 5, true, minute);
    const shipped = b.drain();
    b.observe('op', 7, false, minute);
    b.restore(shipped);
    const [s] = b.drain();
    expect(s).toMatchObject({ n: 2, err: 1, ms: 12 });
  });
});

describe('toMessages', () => {
  it('splits into messages of at most MAX_SERIES series, each with its own id', () => {
    const b = new HistogramBuffer();
    for (let i = 0; i < MAX_SERIES * 2 + 5; i++) b.observe(`op${i}`, 1, false, minute);
    const msgs = toMessages(b.drain());
    expect(msgs.map((m) => m.series.length)).toEqual([MAX_SERIES, MAX_SERIES, 5]);
    expect(new Set(msgs.map((m) => m.id)).size).toBe(3);
    expect(msgs.every((m) => m.type === 'metrics.histogram')).toBe(true);
  });
});

describe('MetricsShipper', () => {
  const log = createLogger({ test: true });
  function fakeEnv(fail = false) {
    const sent: unknown[][] = [];
    const env = {
      DATABASE_URL: 'postgres://u:p@h/d',
      SERVICE_ROLE_KEY: 'unit-test-key',
      METRICS_FLUSH_MS: '20',
      EVENTS: {
        sendBatch: async (m: unknown[]) => {
          if (fail) throw new Error('queue down');
          sent.push(m);
        },
      },
    };
    return { env: env as unknown as Env, sent };
  }

  it('arms one delayed flush per slice: many requests, one message', async () => {
    const s = new MetricsShipper();
    const { env, sent } = fakeEnv();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      s.collector.observe('GET /x', i, false);
      s.schedule(env, (p) => pending.push(p), log);
    }
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(sent).toHaveLength(1);
    expect((sent[0]![0] as { body: { series: { n: number }[] } }).body.series[0]!.n).toBe(50);
  });

  it('a failed send keeps the data for the next flush', async () => {
    const s = new MetricsShipper();
    const down = fakeEnv(true);
    s.collector.observe('GET /x', 1, false);
    expect(await s.flush(down.env, log)).toBe(0);
    const up = fakeEnv();
    expect(await s.flush(up.env, log)).toBe(1);
    expect((up.sent[0]![0] as { body: { series: { n: number }[] } }).body.series[0]!.n).toBe(1);
  });
});
