// Discovery jobs in the ledger (marketplace_discovery_queue): lease, run, record failure.
// The DISCOVERY consumer and the queue-worker route lease differently (by message, by topic) and
// then run every job through runLeasedJobs(), the one handler both share.
import type { Db } from '../db/client';
import { JOB_LOCK_TIMEOUT_MS, MAX_ATTEMPTS } from './config';

export interface LeasedJob {
  id: string;
  leaseToken: string;
  attempts: number;
  topic: string;
}

export interface JobResult {
  category_id: string;
  candidate_count: number;
  required_count: number;
  gap: number;
}

export type JobOutcome =
  | { kind: 'done'; result: JobResult }
  /** Nothing to do: the row is gone (interest deleted, purged) or another lease owns it. */
  | { kind: 'skipped'; reason: 'missing' | 'lease_lost' }
  /** Discovery failed; the row is back to 'queued' (or 'error' once out of attempts). */
  | { kind: 'failed'; error: string; dead: boolean };

type LeaseRow = { id: string; lease_token: string; attempts: number; topic: string };
const toJob = (r: LeaseRow): LeasedJob => ({ id: r.id, leaseToken: r.lease_token, attempts: r.attempts, topic: r.topic });

/**
 * Consumer lease: each wanted job with the lease token of its message. A row is leasable when
 * queued, when its lease expired, or when the lease is this same token (a previous delivery of the
 * same message died mid-batch; the runtime only redelivers once that invocation is over).
 */
export async function leaseJobs(db: Db, wanted: { id: string; token: string }[], ttlSeconds: number): Promise<Map<string, LeasedJob>> {
  if (wanted.length === 0) return new Map();
  const rows = await db.query<LeaseRow>(
    `WITH w AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(id uuid, token uuid))
     UPDATE public.marketplace_discovery_queue q
        SET status = 'processing', lease_token = w.token,
            lease_expires_at = now() + make_interval(secs => $2), attempts = q.attempts + 1
       FROM w
      WHERE q.id = w.id
        AND (q.status = 'queued'
             OR (q.status = 'processing' AND (q.lease_expires_at < now() OR q.lease_token = w.token)))
     RETURNING q.id, q.lease_token, q.attempts, q.topic`,
    [JSON.stringify(wanted), ttlSeconds],
  );
  return new Map(rows.map((r) => [r.id, toJob(r)]));
}

/**
 * queue-worker lease: up to `limit` rows of a topic, queued or with an expired lease, oldest first.
 * FOR UPDATE SKIP LOCKED makes concurrent callers take disjoint rows.
 */
export async function leaseByTopic(db: Db, topic: string, limit: number, ttlSeconds: number): Promise<LeasedJob[]> {
  const rows = await db.query<LeaseRow>(
    `UPDATE public.marketplace_discovery_queue q
        SET status = 'processing', lease_token = gen_random_uuid(),
            lease_expires_at = now() + make_interval(secs => $3), attempts = q.attempts + 1
      WHERE q.id IN (SELECT id FROM public.marketplace_discovery_queue
                      WHERE topic = $1
                        AND (status = 'queued' OR (status = 'processing' AND lease_expires_at < now()))
                      ORDER BY created_at, id
                      LIMIT $2
                      FOR UPDATE SKIP LOCKED)
     RETURNING q.id, q.lease_token, q.attempts, q.topic`,
    [topic, limit, ttlSeconds],
  );
  return rows.map(toJob);
}

/** Where the rows that could not be leased stand (for logs: duplicates, dead, held, missing). */
export async function jobStates(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: string; state: string }>(
    `SELECT id, CASE WHEN status = 'processing' THEN 'held' ELSE status END AS state
       FROM public.marketplace_discovery_queue WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const states = new Map(rows.map((r) => [r.id, r.state]));
  for (const id of ids) if (!states.has(id)) states.set(id, 'missing');
  return states;
}

/**
 * Run leased jobs through public.discovery_process_jobs — one round trip for the whole set, each
 * job in its own subtransaction (ensure category, measure supply, upsert gaps, mark done). A failed
 * job keeps attempts and last_error and goes back to 'queued', lease cleared:
 *   mode 'consumer': a retry message is in flight, so relayed_at is stamped (no second copy);
 *   mode 'worker':   no message owns it; after MAX_ATTEMPTS it becomes 'error' (dead).
 * If the call itself fails (database gone) it throws and the caller's transport retries.
 */
export async function runLeasedJobs(db: Db, jobs: LeasedJob[], mode: 'consumer' | 'worker'): Promise<Map<string, JobOutcome>> {
  if (jobs.length === 0) return new Map();
  const rows = await db.query<{ job_id: string; outcome: string; result: JobResult | null; error: string | null; dead: boolean }>(
    'SELECT job_id, outcome, result, error, dead FROM public.discovery_process_jobs($1::jsonb, $2, $3, $4)',
    [JSON.stringify(jobs.map((j) => ({ id: j.id, token: j.leaseToken }))), mode === 'consumer', MAX_ATTEMPTS, JOB_LOCK_TIMEOUT_MS],
  );
  return new Map(rows.map((r): [string, JobOutcome] => [
    r.job_id,
    r.outcome === 'done' ? { kind: 'done', result: r.result! }
      : r.outcome === 'failed' ? { kind: 'failed', error: r.error ?? 'unknown error', dead: r.dead }
      : { kind: 'skipped', reason: r.outcome === 'missing' ? 'missing' : 'lease_lost' },
  ]));
}

/**
 * Stuck work: rows whose lease expired (their worker died) go back to 'queued' — the same effect
 * as the guide's §8 UPDATE. The touch trigger moves updated_at past relayed_at, so the next relay
 * sends them again. Returns the requeued ids.
 */
export async function requeueExpiredLeases(db: Db): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `UPDATE public.marketplace_discovery_queue
        SET status = 'queued', lease_token = NULL, lease_expires_at = NULL
      WHERE status = 'processing' AND lease_expires_at < now()
     RETURNING id`,
  );
  return rows.map((r) => r.id);
}
