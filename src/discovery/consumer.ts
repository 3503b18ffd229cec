// The DISCOVERY queue consumer (the rocker-discovery-run logic) and its dead-letter hook.
// Per message: lease the ledger row → run discovery → done → ack(). A failure keeps attempts and
// last_error on the row and retry()s the message with exponential backoff (capped); after the
// queue's max_retries the message goes to the DLQ, whose hook marks the row 'error' so it shows in
// vw_dead_letter_queue. Duplicates (the row is already done, or leased by someone else) are acked
// without touching anything, so processing twice has the effect of processing once.
// A batch that cannot reach the database (outage, network) is not the jobs' failure: its messages
// go back on the outage schedule (outageRetryDelaySeconds), which outlasts a configured outage
// window instead of dead-lettering healthy work in two minutes.
import { isDatabaseUnreachable } from '../http/errors';
import { errorFields } from '../observability/logger';
import { jobsPaused } from '../ops/pause';
import type { ConsumerContext, MessageHandler } from '../platform/message';
import { CONSUMER_LEASE_SECONDS, discoveryConfig, outageRetryDelaySeconds, retryDelaySeconds } from './config';
import { jobStates, type LeasedJob, leaseJobs, runLeasedJobs } from './jobs';
import { DiscoveryJobMessage } from './messages';
import { markJobsDead, unrelayQueued } from './queries';

/** Thrown by the test-only fault injection: the consumer "dies" with a job leased. */
export class SimulatedCrash extends Error {}

/**
 * The lease token of a message: derived from its id, which is stable across redeliveries, so a
 * redelivery can take over the lease its crashed predecessor left behind — immediately, rather
 * than after the lease expires.
 */
export async function leaseTokenFor(messageId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`discovery:${messageId}`)));
  const b = digest.slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50; // version 5 layout (name-based)
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC variant
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function handle(messages: Message<DiscoveryJobMessage>[], c: ConsumerContext): Promise<void> {
  try {
    await handleBatch(messages, c);
  } catch (err) {
    if (!isDatabaseUnreachable(err)) throw err;
    // Acked messages are unaffected by retry(); the rest wait out the outage, attempts intact on
    // the ledger rows (discovery_process_jobs never ran for them).
    const delays = messages.map((m) => outageRetryDelaySeconds(c.env, m.attempts));
    for (const [i, m] of messages.entries()) m.retry({ delaySeconds: delays[i]! });
    c.log.warn('discovery.db_unreachable', { messages: messages.length, retry_in_s: Math.min(...delays), ...errorFields(err) });
  }
}

async function handleBatch(messages: Message<DiscoveryJobMessage>[], c: ConsumerContext): Promise<void> {
  const db = c.db();
  if (await jobsPaused(db)) {
    // Rollback in progress: hand the jobs back to the outbox (the relay sends rows whose
    // relayed_at is NULL once work resumes) and ack, so no retry attempts are spent meanwhile.
    const ids = [...new Set(messages.map((m) => m.body.job_id))];
    await unrelayQueued(db, ids);
    for (const m of messages) m.ack();
    c.log.warn('discovery.paused', { messages: messages.length, flag: 'ops.pause_jobs' });
    return;
  }
  const faults = discoveryConfig(c.env).faultInjection;
  // One lease per job: of several messages for the same job in this batch, the newest chain's
  // (highest generation) owns it; the others are duplicates.
  const first = new Map<string, Message<DiscoveryJobMessage>>();
  for (const m of messages) {
    const seen = first.get(m.body.job_id);
    if (!seen || (m.body.gen ?? -1) > (seen.body.gen ?? -1)) first.set(m.body.job_id, m);
  }
  const wanted = await Promise.all(
    [...first.values()].map(async (m) => ({ id: m.body.job_id, token: await leaseTokenFor(m.id), gen: m.body.gen ?? null })),
  );
  const leased = await leaseJobs(db, wanted, CONSUMER_LEASE_SECONDS);

  const unleased = wanted.filter((w) => !leased.has(w.id)).map((w) => w.id);
  const states = await jobStates(db, unleased);
  const counts = { done: 0, failed: 0, skipped: 0, duplicate: messages.length - first.size };

  // Jobs to run: each leased job with the message that owns it. With fault injection on (tests
  // only), the batch stops at the first message told to crash on this attempt.
  const owned: { m: Message<DiscoveryJobMessage>; job: LeasedJob }[] = [];
  let crashAt: LeasedJob | undefined;
  for (const m of messages) {
    const job = leased.get(m.body.job_id);
    if (!job || first.get(m.body.job_id) !== m) {
      // done (duplicate delivery), error (dead: only a redrive revives it), held by a live lease
      // (its holder finishes it; if the holder dies the lease expires, the cron requeues and the
      // relay sends it again), owned by a newer message chain (this message is stale) or missing
      // (interest removed, row purged): nothing to do.
      counts.skipped++;
      if (job === undefined) c.log.info('discovery.skip', { job_id: m.body.job_id, state: states.get(m.body.job_id) });
      m.ack();
      continue;
    }
    if (faults && m.body.test_fault?.crash_on_attempt === m.attempts) {
      crashAt = job;
      break;
    }
    owned.push({ m, job });
  }

  const outcomes = await runLeasedJobs(
    db,
    owned.map((o) => o.job),
    'consumer',
  );
  for (const { m, job } of owned) {
    const outcome = outcomes.get(job.id);
    if (outcome?.kind === 'failed') {
      counts.failed++;
      const delaySeconds = retryDelaySeconds(c.env, m.attempts);
      c.log.warn('discovery.job_failed', { job_id: job.id, attempts: m.attempts, retry_in_s: delaySeconds, error: outcome.error });
      m.retry({ delaySeconds });
    } else {
      counts[outcome?.kind === 'done' ? 'done' : 'skipped']++;
      m.ack();
    }
  }
  if (crashAt) throw new SimulatedCrash(`test fault: crash after leasing job ${crashAt.id}`);
  c.log.info('discovery.batch', counts);
}

export const discoveryJobHandler: MessageHandler<DiscoveryJobMessage> = { schema: DiscoveryJobMessage, handle };

/**
 * DLQ hook: a message that exhausted its retries marks its job 'error' (dead_at set, last error
 * kept). A job that finished meanwhile, is held by a live lease of another worker, or belongs to a
 * newer message chain than the dead message (redriven or relayed again since), is left as it is. Returns the ids of the messages whose job is in the ledger: the job row is their record,
 * so the dispatcher does not record them a second time in events_queue. Messages without a known
 * job (malformed, row purged) are left to the dispatcher's dead-letter record.
 */
export async function markDeadJobs(messages: readonly Message[], c: ConsumerContext): Promise<string[]> {
  const jobs = new Map<string, string[]>();
  const dead: { id: string; gen: number | null }[] = [];
  for (const m of messages) {
    const parsed = DiscoveryJobMessage.safeParse(m.body);
    if (!parsed.success) continue;
    jobs.set(parsed.data.job_id, [...(jobs.get(parsed.data.job_id) ?? []), m.id]);
    dead.push({ id: parsed.data.job_id, gen: parsed.data.gen ?? null });
  }
  if (jobs.size === 0) return [];
  const rows = await markJobsDead(c.db(), dead, c.queue.replace(/-dlq$/, ''));
  const marked = rows.filter((r) => r.marked).map((r) => r.id);
  if (marked.length > 0) c.log.warn('discovery.dead', { count: marked.length, job_ids: marked.slice(0, 20) });
  return rows.flatMap((r) => jobs.get(r.id) ?? []);
}
