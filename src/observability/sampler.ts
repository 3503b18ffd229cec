// Per-minute gauge sampler (cron * * * * *): levels that are not request timings — discovery queue
// and outbox age, dead-letter size, exploration rate (last 15 minutes) and the live policy's
// effective epsilon — sampled into
// gauge_metrics_minute, one row per (metric, subject, minute). An upsert on that natural key makes
// a re-run in the same minute overwrite, never add. Every query reads an index-bounded slice
// (queued/error rows by the status index, the last 15 minutes of learning_events by ts).
import type { Job } from '../cron';
import { gcInBatches } from '../cron/gc';
import { evaluateFlags } from '../flags';

export const EXPLORATION_WINDOW_MINUTES = 15;

const SAMPLE = `
WITH s(metric, subject, value, samples) AS (
  SELECT 'queue.discovery.p95_age_sec', 'queued', coalesce(h.p95_age_sec, 0)::float8, coalesce(h.count, 0)::bigint
  FROM (SELECT 1) one LEFT JOIN public.vw_discovery_queue_health h ON h.status = 'queued'
  UNION ALL
  SELECT 'queue.outbox.p95_age_sec', 'queued', coalesce(max(h.p95_age_sec), 0)::float8, coalesce(sum(h.count), 0)::bigint
  FROM public.vw_events_queue_health h WHERE h.status = 'queued'
  UNION ALL
  SELECT 'dlq.size', src.source, count(d.id)::float8, count(d.id)::bigint
  FROM (VALUES ('discovery'), ('events')) AS src(source)
  LEFT JOIN public.vw_dead_letter_queue d ON d.source = src.source
  GROUP BY src.source
  UNION ALL
  SELECT 'policy.exploration_rate', le.policy, avg(le.explored::int)::float8, count(*)::bigint
  FROM public.learning_events le
  WHERE le.ts > $1::timestamptz - make_interval(mins => $2) AND le.ts <= $1::timestamptz
  GROUP BY le.policy
  UNION ALL
  SELECT 'policy.epsilon', $3::text, $4::float8, 0::bigint
)
INSERT INTO public.gauge_metrics_minute AS g (metric, subject, minute, value, samples)
SELECT metric, subject, date_trunc('minute', $1::timestamptz), value, samples FROM s
ON CONFLICT (metric, subject, minute) DO UPDATE SET value = EXCLUDED.value, samples = EXCLUDED.samples
RETURNING metric`;

export const metricsSampler: Job = {
  name: 'metrics-sampler',
  async run(c) {
    const db = c.db();
    // The effective epsilon of the live policy: 0 in safe mode, by design (nothing should explore).
    const { policy } = await evaluateFlags({ env: c.env, db: c.db, log: c.log });
    const rows = await db.query(SAMPLE, [new Date(c.scheduledTime).toISOString(), EXPLORATION_WINDOW_MINUTES, policy.version, policy.epsilon]);
    return { gauges: rows.length };
  },
};

/** Nightly: expired metric rollups, gauges, ledger ids and closed alerts (retention_policies). */
export const gcMetrics: Job = {
  name: 'gc-metrics',
  pausable: true,
  run: (c) => gcInBatches(c, 'request_metrics_minute', 'gc_metrics'),
};
