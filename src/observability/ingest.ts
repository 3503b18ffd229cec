// EVENTS consumer for `metrics.histogram`: merges the isolates' per-(operation, minute) histograms
// into request_metrics_minute with upserts, one statement per batch (mergeHistogramMessages in
// queries.ts).
//
// Idempotent under redelivery (at-least-once queues): the statement inserts every message id into
// metrics_ingest_ledger with ON CONFLICT DO NOTHING and adds ONLY the series of the ids it really
// inserted. Ledger row and rollup increments commit together (one statement = one transaction),
// so a message is counted exactly once whether it arrives twice in one batch, in two batches, or
// concurrently on two consumers (the second insert waits for the first and then does nothing).
// The ledger keeps 8 days; series older than 7 days are refused (logged), so an id can never be
// forgotten while its message could still be merged.
import { z } from 'zod';
import type { Db } from '../db/sql';
import type { MessageHandler } from '../platform/message';
import type { HistogramMessage, SeriesPayload } from './collector';
import { HISTOGRAM_BUCKETS, histogramCount } from './histogram';
import { mergeHistogramMessages } from './queries';

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
  const row = await mergeHistogramMessages(db, JSON.stringify(payload));
  return { ...row, refused };
}

export const metricsHistogramHandler: MessageHandler<z.infer<typeof HistogramMessageSchema>> = {
  schema: HistogramMessageSchema,
  async handle(messages, c) {
    const result = await mergeHistograms(
      c.db(),
      messages.map((m) => m.body),
    );
    for (const m of messages) m.ack();
    const log = result.refused > 0 ? c.log.warn : c.log.info;
    log('metrics.merged', { ...result, duplicates: result.messages - result.fresh });
  },
};
