// Every statement of the metrics pipeline: the histogram merge of the metrics.histogram consumer,
// the per-minute gauge sample (plus gauges measured outside Postgres, e.g. KV drop reports), and the two SLO views the admin API and the dashboard read. All SQL
// on purpose (CTE upserts over jsonb, the guide's views), run as checked `sql` templates.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, nullable, queryOne, queryRows } from '../db/sql';

// Idempotent under redelivery: every message id goes into metrics_ingest_ledger with ON CONFLICT DO
// NOTHING and only the series of the ids really inserted are added. Ledger row and rollup
// increments commit together (one statement = one transaction).
const MergeCounts = z.object({ messages: col.number, fresh: col.number, rows: col.number });

/** Merge messages ({id, series}[] as JSON) into request_metrics_minute, exactly once per id. */
export function mergeHistogramMessages(db: Db, payload: string) {
  return queryOne(
    db,
    'metrics.merge',
    MergeCounts,
    sql`
    WITH msg AS (
      SELECT DISTINCT ON (m.id) m.id, m.series
      FROM jsonb_to_recordset(${payload}::jsonb) AS m(id text, series jsonb)
      ORDER BY m.id
    ), fresh AS (
      INSERT INTO public.metrics_ingest_ledger (message_id)
      SELECT id FROM msg
      ON CONFLICT (message_id) DO NOTHING
      RETURNING message_id
    ), s AS (
      SELECT x.op, x.minute, sum(x.n)::bigint AS n, sum(x.err)::bigint AS err, sum(x.ms) AS ms,
             public.histogram_sum(x.b) AS b
      FROM msg
      JOIN fresh ON fresh.message_id = msg.id
      CROSS JOIN LATERAL jsonb_to_recordset(msg.series) AS x(op text, minute timestamptz, n bigint, err bigint, ms double precision, b bigint[])
      GROUP BY x.op, x.minute
    ), up AS (
      INSERT INTO public.request_metrics_minute AS r (operation, minute, requests, errors, latency_sum_ms, buckets)
      SELECT op, minute, n, err, ms, b FROM s
      ORDER BY op, minute  -- one lock order for every batch: concurrent merges cannot deadlock
      ON CONFLICT (operation, minute) DO UPDATE SET
        requests = r.requests + EXCLUDED.requests,
        errors = r.errors + EXCLUDED.errors,
        latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
        buckets = public.histogram_add(r.buckets, EXCLUDED.buckets)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM msg)::int AS messages, (SELECT count(*) FROM fresh)::int AS fresh,
           (SELECT count(*) FROM up)::int AS rows`,
  );
}

export interface GaugeSample {
  /** The sampled minute's time (ISO); the row's minute is its date_trunc('minute'). */
  at: string;
  explorationWindowMinutes: number;
  /** The live policy's version and effective epsilon (0 in safe mode). */
  policy: string;
  epsilon: number;
  /** Gauges measured outside Postgres (e.g. drop counts the isolates report in KV). */
  external?: { metric: string; subject: string; value: number; samples: number }[];
}

/**
 * One upsert of every gauge for the minute of `at` into gauge_metrics_minute (natural key metric,
 * subject, minute: a re-run in the same minute overwrites). Returns the metric of each row written.
 */
export function sampleGauges(db: Db, s: GaugeSample) {
  const at = sql`${s.at}::timestamptz`;
  return queryRows(
    db,
    'metrics.sample',
    z.object({ metric: col.text }),
    sql`
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
      WHERE le.ts > ${at} - make_interval(mins => ${s.explorationWindowMinutes}::int) AND le.ts <= ${at}
      GROUP BY le.policy
      UNION ALL
      SELECT 'policy.epsilon', ${s.policy}::text, ${s.epsilon}::float8, 0::bigint
      UNION ALL
      SELECT x.metric, x.subject, x.value, x.samples
      FROM jsonb_to_recordset(${JSON.stringify(s.external ?? [])}::jsonb) AS x(metric text, subject text, value float8, samples bigint)
    )
    INSERT INTO public.gauge_metrics_minute AS g (metric, subject, minute, value, samples)
    SELECT metric, subject, date_trunc('minute', ${at}), value, samples FROM s
    ON CONFLICT (metric, subject, minute) DO UPDATE SET value = EXCLUDED.value, samples = EXCLUDED.samples
    RETURNING metric`,
  );
}

// The SLO views, every column in view order; counts and numerics as numbers (what the JSON API sends).
const KernelSlo = z.object({
  operation: col.text,
  requests: col.number,
  errors: col.number,
  error_rate: nullable.number,
  p50_ms: nullable.number,
  p95_ms: nullable.number,
  p99_ms: nullable.number,
  mean_ms: nullable.number,
  target_p95_ms: nullable.number,
  availability_target: nullable.number,
  met: nullable.bool,
});
export type KernelSlo = z.output<typeof KernelSlo>;

const BurnRate = z.object({
  operation: col.text,
  availability_target: nullable.number,
  requests_1h: col.number,
  errors_1h: col.number,
  burn_rate: nullable.number,
  burn_rate_5m: nullable.number,
  burn_rate_30m: nullable.number,
  burn_rate_1h: nullable.number,
  burn_rate_6h: nullable.number,
  page_alert: nullable.bool,
  ticket_alert: nullable.bool,
});
export type BurnRate = z.output<typeof BurnRate>;

/** vw_kernel_slos: the last hour per operation. */
export const kernelSlos = (db: Db): Promise<KernelSlo[]> =>
  queryRows(db, 'vw_kernel_slos', KernelSlo, sql`SELECT * FROM public.vw_kernel_slos ORDER BY operation`);

/** vw_slo_burnrate: burn rates per window and the SRE workbook's page/ticket states. */
export const burnRates = (db: Db): Promise<BurnRate[]> =>
  queryRows(db, 'vw_slo_burnrate', BurnRate, sql`SELECT * FROM public.vw_slo_burnrate ORDER BY burn_rate DESC NULLS LAST, operation`);
