// Consumer semantics with hand-built batches (createMessageBatch → worker.queue): the retry delay
// is exponential and capped, a query that never answers takes the outage path, the DLQ marks jobs
// dead exactly once, and the test-only fault injection cannot be switched on in production.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import { discoveryConfig, outageRetryDelaySeconds, retryDelaySeconds } from '../../src/discovery/config';
import { leaseTokenFor } from '../../src/discovery/consumer';
import { jobMessage } from '../../src/discovery/messages';
import worker from '../../src/index';
import { backoffSeconds } from '../../src/platform/message';
import { holdGapLock, jobRows, newInterest, newJob } from './discovery-support';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

async function deliver(queue: string, messages: { body: unknown; attempts?: number }[], withEnv: Env = env) {
  const batch = createMessageBatch(
    queue,
    messages.map((m, i) => ({
      id: `${crypto.randomUUID()}-${i}`,
      timestamp: new Date(),
      attempts: m.attempts ?? 1,
      body: m.body,
    })),
  );
  // getQueueResult() reports which messages were retried but not their delay: note it on the way.
  const retryOptions = new Map<string, QueueRetryOptions | undefined>();
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    m.retry = (options?: QueueRetryOptions) => {
      retryOptions.set(m.id, options);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, withEnv, ctx);
  return { batch, result: await getQueueResult(batch, ctx), retryOptions };
}

describe('retry backoff', () => {
  it('doubles per attempt from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffSeconds(a))).toEqual([5, 10, 20, 40, 80, 160, 300, 300]);
    expect([1, 2, 3].map((a) => backoffSeconds(a, 1, 2))).toEqual([1, 2, 2]);
  });

  it('a failed job is retried with the configured backoff for its attempt, and keeps its error', async () => {
    const { interestId, categoryId } = await newInterest(db);
    const job = await newJob(db, interestId);
    const lock = await holdGapLock(db, interestId, categoryId);
    try {
      const { batch, result, retryOptions } = await deliver('edge-discovery', [
        { body: jobMessage(job, 'discovery.user-signup'), attempts: 3 },
      ]);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toEqual([{ msgId: batch.messages[0]!.id }]);
      // attempt 3 with the test config (base 1 s, cap 2 s): min(2, 1 × 2²) = 2
      expect(retryOptions.get(batch.messages[0]!.id)).toEqual({ delaySeconds: 2 });
      expect(retryDelaySeconds(env, 3)).toBe(2);
    } finally {
      await lock.release();
    }
    const [row] = await jobRows(db, [job]);
    expect(row).toMatchObject({ status: 'queued', attempts: 1, lease_token: null });
    expect(row!.last_error).toMatch(/^55P03: .*lock timeout/);
    expect(row!.relayed_at).not.toBeNull(); // its retry is in flight: the relay must not send a second copy
  });

  it('a query that never answers (a partitioned database keeps the socket open) takes the outage path', async () => {
    const job = await newJob(db, (await newInterest(db)).interestId);
    // The consumer's first read (the pause flag) waits behind an exclusive lock: to the Worker a
    // query with no answer, as when the network drops packets or Postgres is frozen.
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const { batch, result, retryOptions } = await deliver(
        'edge-discovery',
        [{ body: jobMessage(job, 'discovery.user-signup'), attempts: 2 }],
        {
          ...env,
          QUEUE_QUERY_TIMEOUT_MS: '1000',
        } as Env,
      );
      expect(Date.now() - started).toBeLessThan(20_000); // gave up on the query, did not wait for the lock
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages).toEqual([{ msgId: batch.messages[0]!.id }]);
      // The outage schedule, not the job-failure backoff: no attempt was spent on the job itself.
      expect(retryOptions.get(batch.messages[0]!.id)).toEqual({ delaySeconds: outageRetryDelaySeconds(env, 2) });
      expect(outageRetryDelaySeconds(env, 2)).toBeGreaterThan(retryDelaySeconds(env, 2));
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    const [row] = await jobRows(db, [job]);
    expect(row).toMatchObject({ status: 'queued', attempts: 0, last_error: null, lease_token: null });
  });
});

describe('dead-letter queue hook', () => {
  it('marks a queued job dead once, leaves a finished one alone, records nothing twice', async () => {
    const dead = await newJob(db, (await newInterest(db)).interestId);
    const finished = await newJob(db, (await newInterest(db)).interestId);
    await db.query(`UPDATE public.marketplace_discovery_queue SET status = 'done', processed_at = now() WHERE id = $1`, [finished]);
    await db.query(`UPDATE public.marketplace_discovery_queue SET last_error = 'boom', attempts = 6 WHERE id = $1`, [dead]);
    const messages = [
      { body: jobMessage(dead, 'discovery.user-signup'), attempts: 6 },
      { body: jobMessage(finished, 'discovery.user-signup'), attempts: 6 },
    ];
    const first = await deliver('edge-discovery-dlq', messages);
    expect(first.result.ackAll).toBe(true);
    const [d, f] = await jobRows(db, [dead, finished]);
    expect(d).toMatchObject({ status: 'error', last_error: 'boom', attempts: 6 });
    expect(d!.dead_at).not.toBeNull();
    expect(f).toMatchObject({ status: 'done', dead_at: null });

    await deliver('edge-discovery-dlq', messages); // the DLQ delivers twice: same outcome
    const [again] = await jobRows(db, [dead]);
    expect(again!.dead_at).toEqual(d!.dead_at);
    const copies = await db.query(`SELECT 1 FROM public.events_queue WHERE payload->'body'->>'job_id' = ANY($1)`, [[dead, finished]]);
    expect(copies).toHaveLength(0);
  });
});

describe('configuration', () => {
  it('never enables fault injection in production, and survives bad values with the defaults', () => {
    expect(discoveryConfig(env).faultInjection).toBe(true); // vitest.config.ts turns it on for tests
    expect(discoveryConfig({ ...env, APP_ENV: 'production', DISCOVERY_FAULT_INJECTION: 'on' } as Env).faultInjection).toBe(false);
    expect(discoveryConfig({ ...env, APP_ENV: 'production', DISCOVERY_FAULT_INJECTION: '' } as unknown as Env).faultInjection).toBe(false);
    expect(discoveryConfig({ ...env, DISCOVERY_RETRY_BASE_SECONDS: 'soon' } as unknown as Env)).toEqual({
      retryBaseSeconds: 5,
      retryCapSeconds: 300,
      outageWindowSeconds: 900, // issue 20: the outage retry window's default
      faultInjection: false,
    });
  });

  it('derives a stable, valid lease token from a message id', async () => {
    const a = await leaseTokenFor('msg-1');
    expect(a).toBe(await leaseTokenFor('msg-1'));
    expect(a).not.toBe(await leaseTokenFor('msg-2'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
