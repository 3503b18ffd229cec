// What GET /admin/metrics reads: the per-minute rollups and the guide's views, never raw event
// tables, so a scrape costs a few index reads however much traffic there was. Each statement is
// one round trip; the handler runs them side by side (burn rates: burnRates() in queries.ts).
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, nullable, queryRows } from '../db/sql';

const HistogramRow = z.object({
  operation: col.text,
  requests: col.number,
  errors: col.number,
  latency_sum_ms: col.number,
  buckets: z.array(col.number),
});
export type HistogramRow = z.output<typeof HistogramRow>;

/**
 * Per operation, the last hour of request_metrics_minute summed — the same window as
 * vw_kernel_slos (kernel_slos_at), so the exposition and the dashboard agree. At most 60 rows per
 * operation, through the rollup's primary key.
 */
export const requestHistograms = (db: Db) =>
  queryRows(
    db,
    'metrics.export_histograms',
    HistogramRow,
    sql`
    SELECT r.operation, sum(r.requests)::bigint AS requests, sum(r.errors)::bigint AS errors,
           sum(r.latency_sum_ms)::float8 AS latency_sum_ms, public.histogram_sum(r.buckets) AS buckets
    FROM public.request_metrics_minute r
    WHERE r.minute >= date_trunc('minute', now()) - interval '59 minutes'
      AND r.minute < date_trunc('minute', now()) + interval '1 minute'
    GROUP BY r.operation
    ORDER BY r.operation`,
  );

const QueueRow = z.object({
  queue: col.text,
  topic: col.text,
  status: col.text,
  count: col.number,
  oldest_age_sec: nullable.number,
});
export type QueueRow = z.output<typeof QueueRow>;

/**
 * Live and dead rows of both queues, from the queue health views (migration 0502: live states and
 * the DLQ counted in full, both bounded). status 'error' rows are the dead-letter queue.
 */
export const queueRows = (db: Db) =>
  queryRows(
    db,
    'metrics.export_queues',
    QueueRow,
    sql`
    SELECT 'events' AS queue, topic, status, count::bigint AS count,
           extract(epoch FROM now() - oldest)::float8 AS oldest_age_sec
    FROM public.vw_events_queue_health WHERE status IN ('queued', 'processing', 'error')
    UNION ALL
    SELECT 'discovery', '', status, count::bigint, extract(epoch FROM now() - oldest)::float8
    FROM public.vw_discovery_queue_health WHERE status IN ('queued', 'processing', 'error')
    ORDER BY 1, 2, 3`,
  );

const FlagRow = z.object({ key: col.text, rev: col.number, safe_mode: nullable.bool });
export type FlagRow = z.output<typeof FlagRow>;

/** Every flag's revision (feature_flag_sync.rev, bumped by each change the sync merges) and safe mode. */
export const flagRows = (db: Db) =>
  queryRows(
    db,
    'metrics.export_flags',
    FlagRow,
    sql`
    SELECT f.key, coalesce(s.rev, 0)::bigint AS rev,
           CASE WHEN f.key = 'global.safe_mode' THEN coalesce((f.value ->> 'enabled')::boolean, false) END AS safe_mode
    FROM public.feature_flags f LEFT JOIN public.feature_flag_sync s ON s.key = f.key
    ORDER BY f.key`,
  );
