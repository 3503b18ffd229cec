// Discovery's Postgres side, jobs and outbox: the ledger of discovery jobs
// (marketplace_discovery_queue) as the consumer, the queue-worker route, the relay and the upkeep
// cron read and write it. Plain CRUD through drizzle; leases, the batch runner, the dead-letter mark
// and the outbox settlement are SQL (CTEs, jsonb recordsets, SKIP LOCKED), each row checked.
// The dead-letter review's SQL is in queries-dlq.ts, the caller's own data (/v1/me) in me-queries.ts.
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { marketplaceDiscoveryQueue as queue } from '../db/schema';
import type { Db } from '../db/sql';
import { col, execute, nullable, queryOne, queryRows } from '../db/sql';

// ------------------------------------------------------------------------------------- leases

export const LeaseRow = z.object({ id: col.uuid, lease_token: col.uuid, attempts: col.number, topic: col.text });
export type LeaseRow = z.infer<typeof LeaseRow>;

/**
 * Lease each wanted job with its token: queued, lease expired, or already leased with this same
 * token (a redelivery of the same message). A message carrying a generation leases only while it
 * is the job's generation (its chain still owns the job, migration 0760); one without (sent before
 * 0760, or by hand) is not checked. A job of an erased user (a tombstone, migration 0770) that is
 * somehow still there is deleted instead: its message is then acked as a job that no longer exists.
 * Returns the rows leased.
 */
export function leaseJobsByToken(
  db: Db,
  wanted: { id: string; token: string; gen: number | null }[],
  ttlSeconds: number,
): Promise<LeaseRow[]> {
  return queryRows(
    db,
    'discovery.lease_jobs',
    LeaseRow,
    sql`
    WITH w AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) AS w(id uuid, token uuid, gen bigint)),
    erased AS (
      DELETE FROM public.marketplace_discovery_queue q USING w
       WHERE q.id = w.id AND q.user_id IS NOT NULL AND public.user_erased(q.user_id)
      RETURNING q.id)
    UPDATE public.marketplace_discovery_queue q
       SET status = 'processing', lease_token = w.token,
           lease_expires_at = now() + make_interval(secs => ${ttlSeconds}), attempts = q.attempts + 1
      FROM w
     WHERE q.id = w.id
       AND (w.gen IS NULL OR q.generation = w.gen)
       AND (q.user_id IS NULL OR NOT public.user_erased(q.user_id))
       AND (q.status = 'queued'
            OR (q.status = 'processing' AND (q.lease_expires_at < now() OR q.lease_token = w.token)))
    RETURNING q.id, q.lease_token, q.attempts, q.topic`,
  );
}

/**
 * Up to `limit` leasable rows of a topic, oldest first; SKIP LOCKED keeps concurrent callers
 * disjoint. Each leased row gets a new generation: a message already sent for it is stale from
 * now on (acked without effect), so queue-worker and the queue never both own the job.
 */
export function leaseTopicJobs(db: Db, topic: string, limit: number, ttlSeconds: number): Promise<LeaseRow[]> {
  return queryRows(
    db,
    'discovery.lease_by_topic',
    LeaseRow,
    sql`
    UPDATE public.marketplace_discovery_queue q
       SET status = 'processing', lease_token = gen_random_uuid(), generation = nextval('public.marketplace_discovery_generation_seq'),
           lease_expires_at = now() + make_interval(secs => ${ttlSeconds}), attempts = q.attempts + 1
     WHERE q.id IN (SELECT id FROM public.marketplace_discovery_queue
                     WHERE topic = ${topic}
                       AND (status = 'queued' OR (status = 'processing' AND lease_expires_at < now()))
                     ORDER BY created_at, id
                     LIMIT ${limit}
                     FOR UPDATE SKIP LOCKED)
    RETURNING q.id, q.lease_token, q.attempts, q.topic`,
  );
}

/** The status of each of these jobs (rows that do not exist are simply absent). */
export function jobStatuses(db: Db, ids: string[]) {
  return db.select({ id: queue.id, status: queue.status }).from(queue).where(inArray(queue.id, ids));
}

/** Rows whose lease expired back to 'queued', lease cleared; returns their ids. */
export function requeueExpired(db: Db) {
  return db
    .update(queue)
    .set({ status: 'queued', leaseToken: null, leaseExpiresAt: null })
    .where(and(eq(queue.status, 'processing'), lt(queue.leaseExpiresAt, sql`now()`)))
    .returning({ id: queue.id });
}

/** Paused: hand these jobs back to the outbox (unrelayed) if they are still queued. */
export async function unrelayQueued(db: Db, ids: string[]): Promise<void> {
  await db
    .update(queue)
    .set({ relayedAt: null })
    .where(and(inArray(queue.id, ids), eq(queue.status, 'queued')));
}

// -------------------------------------------------------------------------------------- runs

/** What public.discovery_process_jobs reports for a job done (its result jsonb minus the outcome). */
export const JobResult = z.object({
  category_id: col.uuid,
  candidate_count: col.number,
  required_count: col.number,
  gap: col.number,
});
export type JobResult = z.infer<typeof JobResult>;

const ProcessRow = z.object({ job_id: col.uuid, outcome: col.text, result: JobResult.nullable(), error: nullable.text, dead: col.bool });

/** Run leased jobs in one call, each in its own subtransaction (migration 0300). */
export function processJobs(
  db: Db,
  jobs: { id: string; token: string }[],
  retryInFlight: boolean,
  maxAttempts: number,
  lockTimeoutMs: number,
) {
  return queryRows(
    db,
    'discovery.process_jobs',
    ProcessRow,
    sql`
    SELECT job_id, outcome, result, error, dead
      FROM public.discovery_process_jobs(${JSON.stringify(jobs)}::jsonb, ${retryInFlight}, ${maxAttempts}, ${lockTimeoutMs})`,
  );
}

const MarkDeadRow = z.object({ id: col.uuid, marked: col.bool });

/**
 * Dead-letter hook: mark these jobs 'error' unless finished, under a live lease, or owned by a
 * newer chain than the dead message's (a stale DLQ message must not kill a job that was redriven
 * or relayed again since; gen null = a message without a generation, not checked). Returns every
 * job that exists, with whether this call marked it.
 */
export function markJobsDead(db: Db, dead: { id: string; gen: number | null }[], queueName: string) {
  const ids = [...new Set(dead.map((d) => d.id))];
  return queryRows(
    db,
    'discovery.mark_dead',
    MarkDeadRow,
    sql`
    WITH m AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(dead)}::jsonb) AS m(id uuid, gen bigint)),
    dead AS (
      UPDATE public.marketplace_discovery_queue q
         SET status = 'error', dead_at = now(), lease_token = NULL, lease_expires_at = NULL,
             last_error = coalesce(last_error, 'retries exhausted on ' || ${queueName}::text)
       WHERE q.id IN (SELECT m.id FROM m WHERE m.gen IS NULL OR m.gen = q.generation)
         AND (q.status = 'queued' OR (q.status = 'processing' AND q.lease_expires_at < now()))
      RETURNING q.id)
    SELECT q.id, (q.id IN (SELECT id FROM dead)) AS marked
      FROM public.marketplace_discovery_queue q WHERE q.id = ANY(${sql.param(ids)}::uuid[])`,
  );
}

// ------------------------------------------------------------------------------------- relay

/** A queued row relayed longer ago than this is sent again (its message is presumed lost). */
const RESEND_AFTER = '15 minutes';

const RelayRow = z.object({ id: col.uuid, topic: col.text, generation: col.number });

/**
 * Inside the relay's transaction: lock up to `limit` rows that need relaying (never relayed,
 * changed since, or relayed so long ago the message is presumed lost), oldest first, each with
 * the new generation its message will carry (stamped by markRelayed in the same transaction; the
 * CTE is materialised — it locks rows — so nextval runs once per locked row).
 */
export function lockRelayable(tx: Db, limit: number, jobIds: string[] | undefined) {
  const only = jobIds ?? null;
  return queryRows(
    tx,
    'discovery.relay_lock',
    RelayRow,
    sql`
    WITH locked AS (
      SELECT id, topic, created_at FROM public.marketplace_discovery_queue
       WHERE status = 'queued'
         AND (relayed_at IS NULL OR relayed_at < updated_at OR relayed_at < now() - ${RESEND_AFTER}::interval)
         AND (${sql.param(only)}::uuid[] IS NULL OR id = ANY(${sql.param(only)}::uuid[]))
       ORDER BY created_at, id
       LIMIT ${limit}
       FOR UPDATE SKIP LOCKED)
    SELECT id, topic, nextval('public.marketplace_discovery_generation_seq') AS generation
      FROM locked ORDER BY created_at, id`,
  );
}

/**
 * Stamp the sent rows: relayed_at = now() equals the updated_at the touch trigger sets, so the row
 * counts as relayed; the generation is the one its message carries, so older chains go stale.
 */
export async function markRelayed(tx: Db, sent: { id: string; generation: number }[]): Promise<void> {
  await execute(
    tx,
    sql`
    UPDATE public.marketplace_discovery_queue q SET relayed_at = now(), generation = s.generation
      FROM jsonb_to_recordset(${JSON.stringify(sent)}::jsonb) AS s(id uuid, generation bigint)
     WHERE q.id = s.id`,
  );
}

const UUID_RE = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const SettleRow = z.object({ done: col.number, malformed: col.number });

/**
 * Outbox rows of `topic` whose jobs have all been relayed (or finished) → done; malformed ones →
 * error. Every cast is guarded by CASE so a malformed payload cannot fail the statement.
 */
export function settleOutboxRows(db: Db, topic: string) {
  return queryOne(
    db,
    'discovery.settle_outbox',
    SettleRow,
    sql`
    WITH o AS (
      SELECT e.id, e.payload -> 'job_ids' AS ids,
             jsonb_typeof(e.payload -> 'job_ids') = 'array'
             AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(
                               CASE WHEN jsonb_typeof(e.payload -> 'job_ids') = 'array' THEN e.payload -> 'job_ids' ELSE '[]' END) x
                             WHERE jsonb_typeof(x) <> 'string' OR NOT (x #>> '{}') ~* ${UUID_RE}::text) AS well_formed
        FROM public.events_queue e
       WHERE e.topic = ${topic} AND e.status = 'queued'
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
            WHERE q.id IN (SELECT CASE WHEN x ~* ${UUID_RE}::text THEN x::uuid END
                             FROM jsonb_array_elements_text(CASE WHEN o.well_formed THEN o.ids ELSE '[]' END) x)
              AND q.status = 'queued' AND q.relayed_at IS NULL)
      RETURNING e.id
    )
    SELECT (SELECT count(*) FROM done) AS done, (SELECT count(*) FROM bad) AS malformed`,
  );
}
