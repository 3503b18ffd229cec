// The DISCOVERY queue with real delivery inside workerd (Miniflare's queue broker calls the
// Worker's queue() handler): success, retry then success, retry to the DLQ, duplicate delivery,
// a consumer crash mid-batch, malformed messages, and a relay crash between send and mark.
// Failures come from a real cause — a test transaction holding the gap row the job must write,
// so discovery hits its lock timeout — except the crash, which uses the test-only fault
// injection (DISCOVERY_FAULT_INJECTION=on in vitest.config.ts; ignored in production).
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import { jobMessage } from '../../src/discovery/messages';
import { relayDiscovery } from '../../src/discovery/relay';
import worker from '../../src/index';
import { createLogger } from '../../src/observability/logger';
import { gapRow, holdGapLock, jobRows, newInterest, newJob, newUser, waitFor } from './discovery-support';
import { testDb } from './support';

const db = testDb();
const log = createLogger({ test: 'discovery-queue' });
afterAll(() => db.end());

const TOPIC = 'discovery.user-signup';
const statusOf = async (id: string) => (await jobRows(db, [id]))[0]!;
const untilStatus = (id: string, status: string, timeoutMs = 30_000) =>
  waitFor(
    () => statusOf(id),
    (r) => r.status === status,
    timeoutMs,
    `job ${id} ${status}`,
  );

describe('DISCOVERY queue, real delivery', () => {
  it('enqueue → relay → consumer → done: gap recorded, outbox row settled, one attempt', async () => {
    const user = await newUser(db);
    const { interestId, categoryId } = await newInterest(db, 1);
    await db.query('INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.8)', [user, interestId]);
    const [{ n }] = (await db.query<{ n: number }>('SELECT public.enqueue_discovery_for_user($1) AS n', [user])) as [{ n: number }];
    expect(n).toBe(1);
    const [job] = await db.query<{ id: string }>('SELECT id FROM public.marketplace_discovery_queue WHERE user_id = $1', [user]);

    const relay = await relayDiscovery(db, env.DISCOVERY, log, { jobIds: [job!.id] });
    expect(relay.relayed).toBe(1);
    const [outbox] = await db.query<{ status: string }>(
      `SELECT status FROM public.events_queue WHERE topic = $1 AND payload->>'user_id' = $2`,
      [TOPIC, user],
    );
    expect(outbox!.status).toBe('done');

    const done = await untilStatus(job!.id, 'done');
    expect(done).toMatchObject({ attempts: 1, last_error: null, lease_token: null });
    expect(done.processed_at).not.toBeNull();
    expect(await gapRow(db, interestId)).toMatchObject({ candidate_count: 1, required_count: 3, gap: 2 });
    const [mapping] = await db.query<{ category_id: string }>(
      'SELECT category_id FROM public.marketplace_interest_map WHERE interest_id = $1',
      [interestId],
    );
    expect(mapping!.category_id).toBe(categoryId);
  });

  it('retries a failing job with backoff, keeping attempts and last_error, until it succeeds', async () => {
    const { interestId, categoryId } = await newInterest(db);
    const job = await newJob(db, interestId);
    const lock = await holdGapLock(db, interestId, categoryId);
    try {
      await relayDiscovery(db, env.DISCOVERY, log, { jobIds: [job] });
      const failed = await waitFor(
        () => statusOf(job),
        (r) => r.attempts >= 1 && r.last_error !== null,
        30_000,
        'first failure',
      );
      expect(failed.status).not.toBe('done');
      expect(failed.last_error).toMatch(/lock timeout/);
    } finally {
      await lock.release();
    }
    const done = await untilStatus(job, 'done');
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect(done.last_error).toMatch(/lock timeout/); // the history stays readable
    expect(await gapRow(db, interestId)).toMatchObject({ candidate_count: 0, required_count: 3, gap: 3 });
  });

  it('a job failing on every delivery goes to the DLQ: row error, in vw_dead_letter_queue, recorded once', async () => {
    const { interestId, categoryId } = await newInterest(db);
    const job = await newJob(db, interestId);
    const lock = await holdGapLock(db, interestId, categoryId);
    try {
      await relayDiscovery(db, env.DISCOVERY, log, { jobIds: [job] });
      const dead = await untilStatus(job, 'error', 100_000);
      // wrangler.toml: max_retries 5 → 6 deliveries, each leased once.
      expect(dead.attempts).toBe(6);
      expect(dead.dead_at).not.toBeNull();
      expect(dead.last_error).toMatch(/lock timeout/);
    } finally {
      await lock.release();
    }
    const view = await db.query<{ source: string; interest_id: string; attempts: number; last_error: string }>(
      'SELECT source, interest_id, attempts, last_error FROM public.vw_dead_letter_queue WHERE id = $1',
      [job],
    );
    expect(view).toEqual([
      { source: 'discovery', interest_id: interestId, attempts: 6, last_error: expect.stringMatching(/lock timeout/) },
    ]);
    // The job row is the dead letter's record: no second copy in events_queue.
    const copies = await db.query(`SELECT 1 FROM public.events_queue WHERE payload->'body'->>'job_id' = $1`, [job]);
    expect(copies).toHaveLength(0);
  }, 120_000);

  it('duplicate deliveries of a finished job change nothing', async () => {
    const { interestId } = await newInterest(db);
    const job = await newJob(db, interestId);
    await env.DISCOVERY.send(jobMessage(job, TOPIC));
    const first = await untilStatus(job, 'done');
    const gapBefore = await gapRow(db, interestId);

    // Two more copies of the job, then a sentinel job behind them: batches are delivered in
    // order, so once the sentinel is done the copies have been consumed.
    const sentinel = await newJob(db, (await newInterest(db)).interestId);
    await env.DISCOVERY.sendBatch([jobMessage(job, TOPIC), jobMessage(job, TOPIC), jobMessage(sentinel, TOPIC)].map((body) => ({ body })));
    await untilStatus(sentinel, 'done');

    const after = await statusOf(job);
    expect(after.attempts).toBe(1);
    expect(after.processed_at).toEqual(first.processed_at);
    expect(await gapRow(db, interestId)).toEqual(gapBefore);
  });

  it('two copies of one job in one batch: processed once, both acked', async () => {
    const { interestId } = await newInterest(db);
    const job = await newJob(db, interestId);
    const batch = createMessageBatch(
      'edge-discovery',
      [1, 2].map((i) => ({
        id: `dup-${i}-${crypto.randomUUID()}`,
        timestamp: new Date(),
        attempts: 1,
        body: jobMessage(job, TOPIC),
      })),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(batch.messages.map((m) => m.id).sort());
    expect(result.retryMessages).toEqual([]);
    expect(await statusOf(job)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('a consumer crash mid-batch loses no job and applies none twice', async () => {
    const interests = await Promise.all([newInterest(db), newInterest(db), newInterest(db)]);
    const [a, b, c] = await Promise.all(interests.map((i) => newJob(db, i.interestId)));
    await env.DISCOVERY.sendBatch([
      { body: jobMessage(a!, TOPIC) },
      { body: { ...jobMessage(b!, TOPIC), test_fault: { crash_on_attempt: 1 } } },
      { body: jobMessage(c!, TOPIC) },
    ]);
    // Right after the crash: A done and acked; B and C leased (the batch leases its jobs up front)
    // by a delivery that is gone, and not processed.
    const mid = await waitFor(
      () => jobRows(db, [a!, b!, c!]),
      (r) => r[0]!.status === 'done' && r[1]!.status === 'processing',
      30_000,
      'the crash',
    );
    expect(mid[1]!.lease_token).not.toBeNull();
    expect(mid[2]!).toMatchObject({ status: 'processing', processed_at: null });

    // The redeliveries of B and C take over their own leases at once (the lease token derives from
    // the message id) instead of waiting for expiry; A is not redelivered.
    const end = await waitFor(
      () => jobRows(db, [a!, b!, c!]),
      (r) => r.every((x) => x.status === 'done'),
      30_000,
      'all done',
    );
    expect(end.map((r) => r.attempts)).toEqual([1, 2, 2]);
    expect(end[0]!.processed_at).toEqual(mid[0]!.processed_at);
    for (const i of interests) {
      const gaps = await db.query('SELECT 1 FROM public.marketplace_gaps WHERE interest_id = $1', [i.interestId]);
      expect(gaps).toHaveLength(1);
    }
  });

  it('a malformed message is recorded as a dead letter at once, never retried', async () => {
    const marker = crypto.randomUUID();
    await env.DISCOVERY.send({ type: 'discovery.job', job_id: 'not-a-uuid', marker });
    const [row] = await waitFor(
      () =>
        db.query<{ status: string; attempts: number; last_error: string; topic: string }>(
          `SELECT status, attempts, last_error, topic FROM public.events_queue WHERE payload->'body'->>'marker' = $1`,
          [marker],
        ),
      (r) => r.length > 0,
      30_000,
      'dead letter',
    );
    expect(row).toMatchObject({ status: 'error', attempts: 1, topic: 'discovery.job' });
    expect(row!.last_error).toMatch(/invalid message: job_id/);
  });

  it('a relay crash between send and mark causes a duplicate delivery at most, never a loss', async () => {
    const { interestId } = await newInterest(db);
    const job = await newJob(db, interestId);
    // The real queue, but the relay "dies" right after the send returns.
    const crashing = Object.create(env.DISCOVERY, {
      sendBatch: {
        value: async (...args: Parameters<Queue['sendBatch']>) => {
          await env.DISCOVERY.sendBatch(...args);
          throw new Error('relay died after sending');
        },
      },
    }) as Queue;
    await expect(relayDiscovery(db, crashing, log, { jobIds: [job] })).rejects.toThrow(/relay died/);
    expect((await statusOf(job)).relayed_at).toBeNull(); // not marked: the next run sends it again

    const again = await relayDiscovery(db, env.DISCOVERY, log, { jobIds: [job] });
    expect(again.relayed).toBe(1);
    const done = await untilStatus(job, 'done');
    expect(done.attempts).toBe(1);
    expect(done.relayed_at).not.toBeNull();
  });
});
