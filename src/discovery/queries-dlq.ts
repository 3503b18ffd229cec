// Dead-letter review's SQL (src/discovery/dlq.ts): vw_dead_letter_queue, and the revive / re-send /
// purge statements over both dead-letter ledgers — marketplace_discovery_queue rows with status
// 'error' (uuid ids) and events_queue rows with status 'error' (bigint ids, kept as text so no id
// is ever rounded through a JS number).
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, execute, nullable, queryRows } from '../db/sql';

export type DlqSource = 'discovery' | 'events';
const Source = z.enum(['discovery', 'events']);

/** One dead letter as the API lists it (timestamps as ISO strings). */
export const DeadLetterRow = z.object({
  source: Source,
  id: col.text,
  topic: col.text,
  user_id: nullable.uuid,
  interest_id: nullable.uuid,
  interest_name: nullable.text,
  attempts: col.number,
  last_error: nullable.text,
  dead_since: col.isoTime,
  created_at: col.isoTime,
});
export type DeadLetter = z.infer<typeof DeadLetterRow>;

export function deadLetterPage(db: Db, source: DlqSource | null, limit: number, offset: number): Promise<DeadLetter[]> {
  return queryRows(
    db,
    'dlq.list',
    DeadLetterRow,
    sql`
    SELECT source, id, topic, user_id, interest_id, interest_name, attempts, last_error, dead_since, created_at
      FROM public.vw_dead_letter_queue WHERE (${source}::text IS NULL OR source = ${source}::text) LIMIT ${limit} OFFSET ${offset}`,
  );
}

export function deadLetterTotals(db: Db) {
  return queryRows(
    db,
    'dlq.totals',
    z.object({ source: Source, n: col.number }),
    sql`
    SELECT source, count(*)::int AS n FROM public.vw_dead_letter_queue GROUP BY source`,
  );
}

/** Which dead rows an action covers: null ids = all of that ledger; older = dead longer than (s). */
export interface DeadFilter {
  discoveryIds: string[] | null;
  eventIds: string[] | null;
  older: number | null;
}

const deadDiscovery = (f: DeadFilter): SQL => sql`q.status = 'error'
  AND (${sql.param(f.discoveryIds)}::uuid[] IS NULL OR q.id = ANY(${sql.param(f.discoveryIds)}::uuid[]))
  AND (${f.older}::int IS NULL OR coalesce(q.dead_at, q.updated_at) < now() - make_interval(secs => ${f.older}::int))`;

const deadEvents = (f: DeadFilter): SQL => sql`e.status = 'error'
  AND (${sql.param(f.eventIds)}::bigint[] IS NULL OR e.id = ANY(${sql.param(f.eventIds)}::bigint[]))
  AND (${f.older}::int IS NULL OR coalesce(e.dead_at, e.updated_at) < now() - make_interval(secs => ${f.older}::int))`;

/** Serialises DLQ actions (inside their transaction): two redrives racing could revive two jobs of one interest. */
export function lockDlqActions(tx: Db): Promise<void> {
  return execute(tx, sql`SELECT pg_advisory_xact_lock(hashtext('dlq-actions'))`);
}

const ReviveRow = z.object({ id: col.uuid, revived: col.bool, last_error: nullable.text });

/**
 * Revive dead jobs: at most one live job per (user, interest), so the newest dead one comes back
 * (queued, attempts reset, last_error cleared — the ledger row of the redrive keeps the history —
 * unrelayed; the relay gives it a new generation, so its dead chain's messages are stale) where
 * none is live. Returns every selected dead job, whether it was revived, and its last error as it
 * was before.
 */
export function reviveDeadJobs(tx: Db, f: DeadFilter) {
  return queryRows(
    tx,
    'dlq.revive',
    ReviveRow,
    sql`
    WITH dead AS (
      SELECT q.id, q.user_id, q.interest_id, q.last_error,
             row_number() OVER (PARTITION BY q.user_id, q.interest_id ORDER BY q.created_at DESC, q.id) AS rn
        FROM public.marketplace_discovery_queue q WHERE ${deadDiscovery(f)}
    ), revive AS (
      UPDATE public.marketplace_discovery_queue q
         SET status = 'queued', attempts = 0, dead_at = NULL, lease_token = NULL, last_error = NULL,
             lease_expires_at = NULL, relayed_at = NULL, processed_at = NULL
        FROM dead d
       WHERE q.id = d.id AND q.status = 'error' AND d.rn = 1
         AND NOT EXISTS (SELECT 1 FROM public.marketplace_discovery_queue l
                          WHERE l.user_id IS NOT DISTINCT FROM d.user_id AND l.interest_id = d.interest_id
                            AND l.status IN ('queued', 'processing'))
      RETURNING q.id
    )
    SELECT d.id, d.id IN (SELECT id FROM revive) AS revived, d.last_error FROM dead d`,
  );
}

const DeadEventRow = z.object({ id: col.text, queue: nullable.text, body: col.json });

/** Lock the selected dead events rows: dead messages (with the queue they died on) and outbox rows (queue null). */
export function lockDeadEvents(tx: Db, f: DeadFilter) {
  return queryRows(
    tx,
    'dlq.dead_events',
    DeadEventRow,
    sql`
    SELECT e.id::text AS id, e.payload ->> 'queue' AS queue, e.payload -> 'body' AS body
      FROM public.events_queue e WHERE ${deadEvents(f)}
     ORDER BY e.id FOR UPDATE`,
  );
}

/** Dead messages re-sent: done. */
export function markEventsResent(tx: Db, ids: string[]): Promise<void> {
  return execute(
    tx,
    sql`UPDATE public.events_queue SET status = 'done', processed_at = now()
                          WHERE id = ANY(${sql.param(ids)}::bigint[])`,
  );
}

/** Dead outbox rows: back to queued, unrelayed. */
export function requeueOutboxRows(tx: Db, ids: string[]): Promise<void> {
  return execute(
    tx,
    sql`UPDATE public.events_queue SET status = 'queued', dead_at = NULL, relayed_at = NULL
                          WHERE id = ANY(${sql.param(ids)}::bigint[])`,
  );
}

const IdRow = z.object({ id: col.text });

/** Delete the selected dead jobs; returns their ids. */
export function deleteDeadJobs(tx: Db, f: DeadFilter) {
  return queryRows(
    tx,
    'dlq.purge_discovery',
    IdRow,
    sql`
    DELETE FROM public.marketplace_discovery_queue q WHERE ${deadDiscovery(f)} RETURNING q.id`,
  );
}

/** Delete the selected dead events rows; returns their ids (as text). */
export function deleteDeadEvents(tx: Db, f: DeadFilter) {
  return queryRows(
    tx,
    'dlq.purge_events',
    IdRow,
    sql`
    DELETE FROM public.events_queue e WHERE ${deadEvents(f)} RETURNING e.id::text AS id`,
  );
}
