// The per-minute sampler records levels (DLQ size, queue age, exploration vs epsilon) as gauges,
// one row per (metric, subject, minute): running it twice in a minute overwrites, never adds.
// The queue consumers record each message's lag the same way as request latencies.
import { createExecutionContext, createMessageBatch, env } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import { HistogramBuffer } from '../../src/observability/collector';
import { createLogger } from '../../src/observability/logger';
import { noopMetrics } from '../../src/observability/metrics';
import { metricsSampler } from '../../src/observability/sampler';
import { observeQueueLag } from '../../src/observability/worker-metrics';
import type { JobContext } from '../../src/platform/job';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

function jobContext(scheduledTime: number): JobContext {
  const ctx = createExecutionContext();
  return {
    env,
    id: crypto.randomUUID(),
    log: createLogger({ test: true }),
    db: () => db,
    waitUntil: (p) => ctx.waitUntil(p),
    metrics: noopMetrics,
    scheduledTime,
  };
}

describe('metrics sampler', () => {
  it('samples exploration per policy over the last 15 minutes, DLQ size per source, queue age; idempotent per minute', async () => {
    const at = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 86_400_000 + 20_000; // 20 days ago, 20 s into a minute
    const policy = `test_policy_${crypto.randomUUID().slice(0, 8)}`;
    await db.query(
      `INSERT INTO public.learning_events (ts, surface, candidate_id, policy, explored)
       SELECT to_timestamp($1 / 1000.0) - make_interval(secs => g * 10), 'feed', 'c' || g, $2, g % 4 = 0
       FROM generate_series(1, 40) g
       UNION ALL SELECT to_timestamp($1 / 1000.0) - interval '1 hour', 'feed', 'old', $2, true`,
      [at, policy],
    );
    await metricsSampler.run(jobContext(at));
    await metricsSampler.run(jobContext(at + 5_000)); // same minute again
    const rows = await db.query<{ metric: string; subject: string; value: number; samples: string; minute: Date }>(
      `SELECT metric, subject, value, samples, minute FROM public.gauge_metrics_minute WHERE minute = $1 ORDER BY metric, subject`,
      [new Date(at - 20_000)],
    );
    const exploration = rows.filter((r) => r.metric === 'policy.exploration_rate' && r.subject === policy);
    expect(exploration).toHaveLength(1);
    expect(exploration[0]!.value).toBe(0.25); // 10 of the 40 events in the window explored
    expect(Number(exploration[0]!.samples)).toBe(40);
    expect(rows.filter((r) => r.metric === 'dlq.size').map((r) => r.subject)).toEqual(['discovery', 'events']);
    expect(rows.filter((r) => r.metric === 'queue.discovery.p95_age_sec')).toHaveLength(1);
    expect(rows.find((r) => r.metric === 'policy.epsilon')!.value).toBeGreaterThanOrEqual(0);
  });
});

describe('queue lag', () => {
  it('observes enqueue → delivery per message, except for batches of metrics messages', () => {
    const now = Date.now();
    const buf = new HistogramBuffer();
    const collector = { observe: (op: string, ms: number, failed: boolean) => buf.observe(op, ms, failed, now) };
    const batch = createMessageBatch('edge-events', [
      { id: 'a', timestamp: new Date(now - 3_000), attempts: 1, body: { type: 'learning.event' } },
      { id: 'b', timestamp: new Date(now - 60_000), attempts: 2, body: { type: 'alert.webhook' } },
      { id: 'c', timestamp: new Date(now - 1_000), attempts: 1, body: { type: 'metrics.histogram' } },
    ]);
    expect(observeQueueLag(batch, now, collector)).toBe(2);
    const [s] = buf.drain();
    expect(s).toMatchObject({ op: 'queue.events.lag', n: 2, ms: 63_000 });
    const metricsOnly = createMessageBatch('edge-events', [
      { id: 'd', timestamp: new Date(now), attempts: 1, body: { type: 'metrics.histogram' } },
    ]);
    expect(observeQueueLag(metricsOnly, now, collector)).toBe(0);
    expect(
      observeQueueLag(
        createMessageBatch('edge-discovery-dlq', [{ id: 'e', timestamp: new Date(now), attempts: 1, body: {} }]),
        now,
        collector,
      ),
    ).toBe(0);
  });
});
