// Discovery jobs in the ledger (marketplace_discovery_queue): lease, run, record failure.
// The DISCOVERY consumer and the queue-worker route lease differently (by message, by topic) and
// then run every job through runLeasedJobs(), the one handler both share.
import type { Db } from '../db/sql';
import { JOB_LOCK_TIMEOUT_MS, MAX_ATTEMPTS } from './config';
import { type JobResult, jobStatuses, type LeaseRow, leaseJobsByToken, leaseTopicJobs, processJobs, requeueExpired } from './queries';

export type { JobResult };

export interface LeasedJob {
  id: string;
  leaseToken: string;
  attempts: number;
  topic: string;
}

export type JobOutcome =
  | { kind: 'done'; result: JobResult }
  /** Nothing to do: the row is gone (interest deleted, purged) or another lease owns it. */
  | { kind: 'skipped'; reason: 'missing' | 'lease_lost' }
  /** Discovery failed; the row is back to 'queued' (or 'error' once out of attempts). */
  | { kind: 'failed'; error: string; dead: boolean };

const toJob = (r: LeaseRow): LeasedJob => ({ id: r.id, leaseToken: r.lease_token, attempts: r.attempts, topic: r.topic });

/**
 * Consumer lease: each wanted job with the lease token of its message. A row is leasable when
 * queued, when its lease expired, or when the lease is this same token (a previous delivery of the
 * same message died mid-batch; the runtime only redelivers once that invocation is over) — and only
 * while the message's generation is the job's (a stale chain's message leases nothing).
 */
export async function leaseJobs(
  db: Db,
  wanted: { id: string; token: string; gen: number | null }[],
  ttlSeconds: number,
): Promise<Map<string, LeasedJob>> {
  if (wanted.length === 0) return new Map();
  const rows = await leaseJobsByToken(db, wanted, ttlSeconds);
  return new Map(rows.map((r) => [r.id, toJob(r)]));
}

/**
 * queue-worker lease: up to `limit` rows of a topic, queued or with an expired lease, oldest first.
 * FOR UPDATE SKIP LOCKED makes concurrent callers take disjoint rows.
 */
export async function leaseByTopic(db: Db, topic: string, limit: number, ttlSeconds: number): Promise<LeasedJob[]> {
  return (await leaseTopicJobs(db, topic, limit, ttlSeconds)).map(toJob);
}

/** Where the rows that could not be leased stand (for logs: duplicates, dead, held, missing). */
export async function jobStates(db: Db, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await jobStatuses(db, ids);
  const states = new Map<string, string>(rows.map((r) => [r.id, r.status === 'processing' ? 'held' : r.status]));
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
  const tokens = jobs.map((j) => ({ id: j.id, token: j.leaseToken }));
  const rows = await processJobs(db, tokens, mode === 'consumer', MAX_ATTEMPTS, JOB_LOCK_TIMEOUT_MS);
  return new Map(
    rows.map((r): [string, JobOutcome] => [
      r.job_id,
      // A job reported done always carries its result (discovery_process_jobs, migration 0300).
      r.outcome === 'done' && r.result !== null
        ? { kind: 'done', result: r.result }
        : r.outcome === 'failed'
          ? { kind: 'failed', error: r.error ?? 'unknown error', dead: r.dead }
          : { kind: 'skipped', reason: r.outcome === 'missing' ? 'missing' : 'lease_lost' },
    ]),
  );
}

/**
 * Stuck work: rows whose lease expired (their worker died) go back to 'queued' — the same effect
 * as the guide's §8 UPDATE. The touch trigger moves updated_at past relayed_at, so the next relay
 * sends them again. Returns the requeued ids.
 */
export async function requeueExpiredLeases(db: Db): Promise<string[]> {
  return (await requeueExpired(db)).map((r) => r.id);
}
