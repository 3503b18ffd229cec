// Discovery jobs in the ledger (marketplace_discovery_queue): lease, run, record failure.
// The DISCOVERY consumer and the queue-worker route lease differently (by message, by topic) and
// then run every job through runLeasedJob(), the one handler both share.
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

export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  return `${code}${message}`.slice(0, 1000);
}

/**
 * Run one leased job (SQL public.discovery_process_job: ensure category, measure supply, upsert
 * gaps, mark done — one transaction). On failure the row keeps attempts and last_error and goes
 * back to 'queued', lease cleared:
 *   mode 'consumer': a retry message is in flight, so relayed_at is stamped (no second copy);
 *   mode 'worker':   no message owns it; after MAX_ATTEMPTS it becomes 'error' (dead).
 * A failure to record the failure (database gone) throws: the caller's transport retries.
 */
export async function runLeasedJob(db: Db, job: LeasedJob, mode: 'consumer' | 'worker'): Promise<JobOutcome> {
  let result: { outcome: string } & Partial<JobResult>;
  try {
    const [row] = await db.query<{ r: typeof result }>('SELECT public.discovery_process_job($1, $2, $3) AS r', [
      job.id, job.leaseToken, JOB_LOCK_TIMEOUT_MS,
    ]);
    result = row!.r;
  } catch (err) {
    const error = describeError(err);
    const [row] = await db.query<{ status: string }>(
      `UPDATE public.marketplace_discovery_queue
          SET status = CASE WHEN $4 AND attempts >= $5 THEN 'error' ELSE 'queued' END,
              dead_at = CASE WHEN $4 AND attempts >= $5 THEN now() END,
              last_error = $3, lease_token = NULL, lease_expires_at = NULL,
              relayed_at = CASE WHEN $4 THEN relayed_at ELSE now() END
        WHERE id = $1 AND lease_token = $2
       RETURNING status`,
      [job.id, job.leaseToken, error, mode === 'worker', MAX_ATTEMPTS],
    );
    return { kind: 'failed', error, dead: row?.status === 'error' };
  }
  if (result.outcome === 'done') {
    const { category_id, candidate_count, required_count, gap } = result as JobResult;
    return { kind: 'done', result: { category_id, candidate_count, required_count, gap } };
  }
  return { kind: 'skipped', reason: result.outcome === 'missing' ? 'missing' : 'lease_lost' };
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
