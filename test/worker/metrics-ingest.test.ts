// The metrics.histogram consumer is idempotent under redelivery: the same message (same id) merged
// twice — in one batch, in two batches, or in two concurrent batches — counts once.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import type { HistogramMessage } from '../../src/observability/collector';
import { HistogramBuffer, toMessages } from '../../src/observability/collector';
import { rollupTotals } from './slo-support';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

function histogramMessage(op: string, latencies: number[], failures = 0, at = Date.now()): HistogramMessage {
  const buf = new HistogramBuffer();
  for (const [i, ms] of latencies.entries()) buf.observe(op, ms, i < failures, at);
  return toMessages(buf.drain())[0]!;
}

async function deliver(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    'edge-events',
    bodies.map((body, i) => ({
      id: `m-${crypto.randomUUID()}-${i}`,
      timestamp: new Date(),
      attempts,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe('metrics.histogram consumer', () => {
  it('merges a message into the per-minute rollup and acks it', async () => {
    const op = `test.ingest.${crypto.randomUUID()}`;
    const result = await deliver([histogramMessage(op, [5, 10, 20, 40], 1)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(await rollupTotals(db, op)).toMatchObject({ requests: 4, errors: 1 });
  });

  it('a redelivered message adds nothing (same id, second batch)', async () => {
    const op = `test.ingest.${crypto.randomUUID()}`;
    const msg = histogramMessage(op, [3, 3, 300]);
    await deliver([msg]);
    await deliver([msg], 2);
    const totals = await rollupTotals(db, op);
    expect(totals.requests).toBe(3);
    expect(totals.buckets.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('the same message twice in one batch counts once', async () => {
    const op = `test.ingest.${crypto.randomUUID()}`;
    const msg = histogramMessage(op, [1, 2, 3, 4, 5]);
    await deliver([msg, msg]);
    expect((await rollupTotals(db, op)).requests).toBe(5);
  });

  it('concurrent deliveries of one message count once; different messages for the same minute add up', async () => {
    const op = `test.ingest.${crypto.randomUUID()}`;
    const at = Date.now();
    const a = histogramMessage(op, [10, 10], 0, at);
    const b = histogramMessage(op, [100, 100, 100], 2, at);
    await Promise.all([deliver([a, b]), deliver([b, a]), deliver([a])]);
    const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM public.request_metrics_minute WHERE operation = $1', [op]);
    expect(Number(row!.n)).toBe(1); // one row per (operation, minute)
    expect(await rollupTotals(db, op)).toMatchObject({ requests: 5, errors: 2 });
  });

  it('refuses histograms whose counts do not add up: dead-lettered, not merged', async () => {
    const op = `test.ingest.${crypto.randomUUID()}`;
    const msg = histogramMessage(op, [5, 5]);
    msg.series[0]!.n = 3; // lies about its histogram
    const result = await deliver([msg]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await rollupTotals(db, op)).requests).toBe(0);
    const dead = await db.query<{ last_error: string }>(
      `SELECT last_error FROM public.events_queue WHERE status = 'error' AND payload -> 'body' ->> 'id' = $1`,
      [msg.id],
    );
    expect(dead[0]?.last_error).toMatch(/histogram counts do not add up/);
  });

  it('ignores series older than the ledger window (cannot prove they were not merged before)', async () => {
    const op = `test.ingest.${crypto.randomUUID()}`;
    await deliver([histogramMessage(op, [5], 0, Date.now() - 8 * 24 * 3600_000)]);
    expect((await rollupTotals(db, op)).requests).toBe(0);
  });
});
