// EVENTS consumer for `metrics.histogram`: merges the isolates' per-(operation, minute) histograms
// into request_metrics_minute with upserts, one statement per batch.
//
// Idempotent under redelivery (at-least-once queues): the statement inserts every message id into
// metrics_ingest_ledger with ON CONFLICT DO NOTHING and adds ONLY the series of the ids it really
// inserted. Ledger row and rollup increments commit together (one statement = one transaction),
// so a message is counted exactly once whether it arrives twice in one batch, in two batches, or
// concurrently on two consumers (the second insert waits for the first and then does nothing).
// The ledger keeps 8 days; series older than 7 days are refused (logged), so an id can never be
// forgotten while its message could still be merged.
import { z } from 'zod';
import type { Db } from '../db/client';
import type { MessageHandler } from '../queues/registry';
import type { HistogramMessage, SeriesPayload } from './collector';
import { HISTOGRAM_BUCKETS, histogramCount } from './histogram';

const MAX_AGE_MS = 7 * 24 * 3600_000;
const MAX_FUTURE_MS = 5 * 60_000;

const Series = z
  .object({
    op: z.string().min(1).max(200),
    minute: z.iso.datetime(),
    n: z.number().int().positive(),
    err: z.number().int().min(0),
    ms: z.number().min(0),
    b: z.array(z.number().int().min(0)).max(HISTOGRAM_BUCKETS),
  })
  .refine((s) => s.err <= s.n, { message: 'err exceeds n' })
  .refine((s) => histogramCount(s.b) === s.n, { message: 'histogram counts do not add up to n' })
  .refine((s) => Date.parse(s.minute) % 60_000 === 0, { message: 'minute is not on a minute boundary' });

export const HistogramMessageSchema = z.object({
  type: z.literal('metrics.histogram'),
  id: z.string().min(8).max(100),
  series: z.array(Series).min(1).max(500),
});

const MERGE = `
WITH msg AS (
  SELECT DISTINCT ON (m.id) m.id, m.series
  FROM jsonb_to_recordset($1::jsonb) AS m(id text, series jsonb)
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
       (SELECT count(*) FROM up)::int AS rows`;

export interface MergeResult {
  messages: number;
  /** Messages merged now (the rest were already in the ledger: duplicates). */
  fresh: number;
  /** Rollup rows inserted or updated. */
  rows: number;
  /** Series refused because their minute is too old or in the future. */
  refused: number;
}

/** Merge histogram messages into the per-minute rollups, exactly once per message id. */
export async function mergeHistograms(db: Db, bodies: Pick<HistogramMessage, 'id' | 'series'>[], nowMs = Date.now()): Promise<MergeResult> {
  let refused = 0;
  const payload = bodies.map((m) => ({
    id: m.id,
    series: m.series.filter((s: SeriesPayload) => {
      const t = Date.parse(s.minute);
      const ok = t >= nowMs - MAX_AGE_MS && t <= nowMs + MAX_FUTURE_MS;
      if (!ok) refused++;
      return ok;
    }),
  }));
  const [row] = await db.query<{ messages: number; fresh: number; rows: number }>(MERGE, [JSON.stringify(payload)]);
  return { messages: row?.messages ?? 0, fresh: row?.fresh ?? 0, rows: row?.rows ?? 0, refused };
}

export const metricsHistogramHandler: MessageHandler<z.infer<typeof HistogramMessageSchema>> = {
  schema: HistogramMessageSchema,
  async handle(messages, c) {
    const result = await mergeHistograms(c.db(), messages.map((m) => m.body));
    for (const m of messages) m.ack();
    const log = result.refused > 0 ? c.log.warn : c.log.info;
    log('metrics.merged', { ...result, duplicates: result.messages - result.fresh });
  },
};
