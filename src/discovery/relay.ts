// The outbox relay: queued discovery jobs → the DISCOVERY queue, one message per job.
// Send-then-mark inside one transaction: the rows are locked (FOR UPDATE SKIP LOCKED, so
// concurrent relays take disjoint rows), sent with sendBatch, then stamped relayed_at and
// committed. A crash between send and commit leaves them unstamped: the next run sends them again
// (a duplicate delivery, which the consumer acks without effect), never a lost job.
//
// A queued row needs relaying when it was never relayed, when it changed after its last relay
// (updated_at > relayed_at: requeued by the cron or by hand with the guide's §8 UPDATE, redriven),
// or when its last relay is so old that the message must be presumed lost.
// Outbox rows (events_queue, topic discovery.user-signup, written by enqueue_discovery_for_user
// in the transaction that queued the jobs) are marked done once none of their jobs awaits its
// first relay; a malformed one is marked 'error' so it shows in vw_dead_letter_queue.
import type { Db } from '../db/client';
import type { Logger } from '../observability/logger';
import { jobMessage } from './messages';

export const OUTBOX_TOPIC = 'discovery.user-signup';
/** Rows per relay transaction (sent in sendBatch chunks of SEND_CHUNK). */
const RELAY_BATCH = 500;
/** Cloudflare Queues: at most 100 messages (and 256 KB) per sendBatch. */
const SEND_CHUNK = 100;
/** A queued row relayed longer ago than this is sent again (its message is presumed lost). */
const RESEND_AFTER = '15 minutes';

export interface RelayOptions {
  /** Most rows to relay in this run (default: all, within the time budget). */
  limit?: number;
  /** Only these jobs (redrive relays what it revived right away). */
  jobIds?: string[];
  /** Stop starting new batches after this long (a cron invocation has limited wall time). */
  budgetMs?: number;
}

export type RelayResult = {
  relayed: number;
  outbox_done: number;
  outbox_malformed: number;
};

const UUID_RE = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export async function relayDiscovery(db: Db, queue: Queue, log: Logger, opts: RelayOptions = {}): Promise<RelayResult> {
  const started = Date.now();
  const budget = opts.budgetMs ?? 20_000;
  const result: RelayResult = { relayed: 0, outbox_done: 0, outbox_malformed: 0 };
  for (;;) {
    const want = Math.min(RELAY_BATCH, (opts.limit ?? Infinity) - result.relayed);
    if (want <= 0) break;
    const n = await relayBatch(db, queue, want, opts.jobIds);
    result.relayed += n;
    if (n < want || Date.now() - started > budget) break;
  }
  const outbox = await settleOutbox(db);
  result.outbox_done = outbox.done;
  result.outbox_malformed = outbox.malformed;
  if (outbox.malformed > 0) log.error('discovery.outbox_malformed', { count: outbox.malformed });
  return result;
}

async function relayBatch(db: Db, queue: Queue, limit: number, jobIds?: string[]): Promise<number> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string; topic: string }>(
      `SELECT id, topic FROM public.marketplace_discovery_queue
        WHERE status = 'queued'
          AND (relayed_at IS NULL OR relayed_at < updated_at OR relayed_at < now() - interval '${RESEND_AFTER}')
          AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
        ORDER BY created_at, id
        LIMIT $1
        FOR UPDATE SKIP LOCKED`,
      [limit, jobIds ?? null],
    );
    for (let i = 0; i < rows.length; i += SEND_CHUNK) {
      await queue.sendBatch(rows.slice(i, i + SEND_CHUNK).map((r) => ({ body: jobMessage(r.id, r.topic), contentType: 'json' as const })));
    }
    if (rows.length > 0) {
      // relayed_at = now() equals the updated_at the touch trigger sets, so the row counts as relayed.
      await client.query('UPDATE public.marketplace_discovery_queue SET relayed_at = now() WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
    }
    await client.query('COMMIT');
    return rows.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Outbox rows whose jobs have all been relayed (or finished) → done; malformed ones → error. */
async function settleOutbox(db: Db): Promise<{ done: number; malformed: number }> {
  // Every cast is guarded by CASE so a malformed payload cannot fail the statement.
  const [row] = await db.query<{ done: string; malformed: string }>(
    `WITH o AS (
       SELECT e.id, e.payload -> 'job_ids' AS ids,
              jsonb_typeof(e.payload -> 'job_ids') = 'array'
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(
                                CASE WHEN jsonb_typeof(e.payload -> 'job_ids') = 'array' THEN e.payload -> 'job_ids' ELSE '[]' END) x
                              WHERE jsonb_typeof(x) <> 'string' OR NOT (x #>> '{}') ~* '${UUID_RE}') AS well_formed
         FROM public.events_queue e
        WHERE e.topic = $1 AND e.status = 'queued'
        ORDER BY e.created_at, e.id
        LIMIT 5000
        FOR UPDATE SKIP LOCKED
     ), bad AS (
       UPDATE public.events_queue e
          SET status = 'error', dead_at = now(), attempts = e.attempts + 1,
              last_error = 'malformed outbox payload: job_ids must be an array of job uuids'
         FROM o WHERE e.id = o.id AND NOT o.well_formed
       RETURNING e.id
     ), done AS (
       UPDATE public.events_queue e
          SET status = 'done', processed_at = now(), relayed_at = now()
         FROM o
        WHERE e.id = o.id AND o.well_formed
          AND NOT EXISTS (
            SELECT 1 FROM public.marketplace_discovery_queue q
             WHERE q.id IN (SELECT CASE WHEN x ~* '${UUID_RE}' THEN x::uuid END
                              FROM jsonb_array_elements_text(CASE WHEN o.well_formed THEN o.ids ELSE '[]' END) x)
               AND q.status = 'queued' AND q.relayed_at IS NULL)
       RETURNING e.id
     )
     SELECT (SELECT count(*) FROM done) AS done, (SELECT count(*) FROM bad) AS malformed`,
    [OUTBOX_TOPIC],
  );
  return { done: Number(row?.done ?? 0), malformed: Number(row?.malformed ?? 0) };
}
