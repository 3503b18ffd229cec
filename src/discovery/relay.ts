// The outbox relay: queued discovery jobs → the DISCOVERY queue, one message per job.
// Send-then-mark inside one transaction: the rows are locked (FOR UPDATE SKIP LOCKED, so
// concurrent relays take disjoint rows), sent with sendBatch, then stamped relayed_at and
// committed. A crash between send and commit leaves them unstamped: the next run sends them again
// (a duplicate delivery, which the consumer acks without effect), never a lost job.
// Each message carries the job's new generation (stamped with relayed_at): whatever chain owned
// the job before (a message presumed lost, a queue-worker lease) is stale from then on, and the
// message of a relay that sent but did not commit is stale too — one message chain per job.
//
// A queued row needs relaying when it was never relayed, when it changed after its last relay
// (updated_at > relayed_at: requeued by the cron or by hand with the guide's §8 UPDATE, redriven),
// or when its last relay is so old that the message must be presumed lost.
// Outbox rows (events_queue, topic discovery.user-signup, written by enqueue_discovery_for_user
// in the transaction that queued the jobs) are marked done once none of their jobs awaits its
// first relay; a malformed one is marked 'error' so it shows in vw_dead_letter_queue.
import type { Db } from '../db/sql';
import { transaction } from '../db/sql';
import type { Logger } from '../observability/logger';
import { jobMessage } from './messages';
import { lockRelayable, markRelayed, settleOutboxRows } from './queries';

export const OUTBOX_TOPIC = 'discovery.user-signup';
/** Rows per relay transaction (sent in sendBatch chunks of SEND_CHUNK). */
const RELAY_BATCH = 500;
/** Cloudflare Queues: at most 100 messages (and 256 KB) per sendBatch. */
const SEND_CHUNK = 100;

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
  const outbox = await settleOutboxRows(db, OUTBOX_TOPIC);
  result.outbox_done = outbox.done;
  result.outbox_malformed = outbox.malformed;
  if (outbox.malformed > 0) log.error('discovery.outbox_malformed', { count: outbox.malformed });
  return result;
}

async function relayBatch(db: Db, queue: Queue, limit: number, jobIds?: string[]): Promise<number> {
  return transaction(db, async (tx) => {
    const rows = await lockRelayable(tx, limit, jobIds);
    for (let i = 0; i < rows.length; i += SEND_CHUNK) {
      await queue.sendBatch(
        rows.slice(i, i + SEND_CHUNK).map((r) => ({ body: jobMessage(r.id, r.topic, r.generation), contentType: 'json' as const })),
      );
    }
    if (rows.length > 0) await markRelayed(tx, rows);
    return rows.length;
  });
}
