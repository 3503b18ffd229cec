// Impressions an isolate cannot hold are counted, end to end: the impressions sender (its real
// wiring, a bound of 5 decisions) drops what does not fit while the EVENTS queue fails; the drop
// reporter writes the count to KV; the per-minute sampler sums every isolate's reports into the
// gauge learning.impressions_dropped; the migrated rule learning_impressions_dropped fires on it
// through the real evaluator (and resolves once the 10-minute window has passed); the dashboard
// shows the count. On a private database: the gauge and the rule's episodes are exact.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { createImpressionSender } from '../../src/learning/impression-sender';
import { createLogger } from '../../src/observability/logger';
import { noopMetrics } from '../../src/observability/metrics';
import { metricsSampler } from '../../src/observability/sampler';
import type { JobContext } from '../../src/platform/job';
import { useFreshWorkerDatabase } from './fresh-db';
import { impressions } from './learning-support';
import { BASE, serviceHeaders } from './support';

const fresh = useFreshWorkerDatabase();
const log = createLogger({ test: 'impressions-dropped' });

const downQueue = {
  send: async () => {
    throw new Error('Queue send failed: injected outage');
  },
  sendBatch: async () => {
    throw new Error('Queue send failed: injected outage');
  },
} as unknown as Queue;

function jobContext(scheduledTime: number): JobContext {
  const ctx = createExecutionContext();
  return {
    env: fresh.env,
    id: crypto.randomUUID(),
    log,
    db: () => fresh.db,
    waitUntil: (p) => ctx.waitUntil(p),
    metrics: noopMetrics,
    scheduledTime,
  };
}

async function gauge(minuteMs: number) {
  return fresh.db.query<{ value: number; samples: string }>(
    `SELECT value, samples FROM public.gauge_metrics_minute
     WHERE metric = 'learning.impressions_dropped' AND subject = 'all' AND minute = $1`,
    [new Date(Math.floor(minuteMs / 60_000) * 60_000)],
  );
}

async function evaluate(at: number) {
  const res = await fresh.fetch('/admin/alerts/evaluate', {
    method: 'POST',
    json: { rule_ids: ['learning_impressions_dropped'], at: new Date(at).toISOString() },
  });
  expect(res.status).toBe(200);
  expect(res.json.errors).toEqual([]);
  return res.json.transitions as { rule_id: string; subject: string; from: string | null; to: string; value: number }[];
}

describe('learning.impressions_dropped', () => {
  it('drops past the bound reach KV, the gauge, the alert and the dashboard', async () => {
    const sender = createImpressionSender({
      maxBufferedItems: 5,
      queue: () => downQueue,
      delayMs: () => 0,
      retry: { baseMs: 20, capMs: 40, budgetMs: 150 },
    });
    const ctx = createExecutionContext();
    const cands = Array.from({ length: 4 }, (_, i) => ({ id: `c${i}`, score: i / 4 }));
    const accepted = Array.from({ length: 8 }, () =>
      sender.add(impressions({ surface: 'feed', cands, limit: 3, epsilon: 0.1 }), env, (p) => ctx.waitUntil(p), log),
    );
    expect(accepted.filter((a) => !a)).toHaveLength(3);
    expect(sender.dropped).toBe(3);
    await waitOnExecutionContext(ctx); // the retries give up (budget), the KV report is written
    expect(sender.buffered).toBe(5); // held for the next request, not dropped

    const listed = await env.FEATURES.list<{ n: number; minute: number }>({ prefix: 'ops:v1:dropped:learning.impressions_dropped:' });
    expect(listed.keys.map((k) => k.metadata?.n)).toEqual([3]);

    const now = Date.now();
    await metricsSampler.run(jobContext(now));
    const [row] = await gauge(now);
    expect(row).toMatchObject({ value: 3 });
    expect(Number(row!.samples)).toBe(1);

    const rule = await fresh.db.query(
      'SELECT metric, subject, comparator, threshold, for_seconds, enabled FROM public.alert_rules WHERE id = $1',
      ['learning_impressions_dropped'],
    );
    expect(rule).toEqual([
      { metric: 'learning.impressions_dropped', subject: 'all', comparator: '>', threshold: 0, for_seconds: 0, enabled: true },
    ]);
    expect(await evaluate(now)).toMatchObject([
      { rule_id: 'learning_impressions_dropped', subject: 'all', from: null, to: 'firing', value: 3 },
    ]);

    const ctxPage = createExecutionContext();
    const page = await worker.fetch(new Request(`${BASE}/admin/dashboard`, { headers: serviceHeaders() }), fresh.env, ctxPage);
    const html = await page.text();
    await waitOnExecutionContext(ctxPage);
    expect(page.status).toBe(200);
    expect(html).toContain('data-impressions-dropped="3"');
    expect(html).toContain('3 dropped');
    expect(html).toContain('learning_impressions_dropped'); // the firing alert in the alerts panel

    // Eleven minutes on, the reports have left the window: the gauge reads 0 (clear), and the alert
    // resolves once that has held for the rule's clear_for (300 s, migration 0750; issue 20).
    const later = now + 11 * 60_000;
    await metricsSampler.run(jobContext(later));
    expect(await gauge(later)).toMatchObject([{ value: 0 }]);
    expect(await evaluate(later)).toEqual([]);
    const settled = later + 5 * 60_000;
    await metricsSampler.run(jobContext(settled));
    expect(await evaluate(settled)).toMatchObject([{ rule_id: 'learning_impressions_dropped', from: 'firing', to: 'resolved' }]);
  });
});
