// One message chain per discovery job (issue 21, migration 0760): every message the relay sends
// carries the job's new generation, queue-worker stamps a new one when it leases a job itself, and
// a message of an older chain is stale — the consumer acks it without effect and the dead-letter
// hook ignores it. So the relay's resend, a queue-worker lease or a redrive end the previous chain
// rather than running beside it. On a private database: the messages the relay really sends reach
// the shared database's consumer, where these jobs do not exist; this file delivers copies of them
// to the Worker with the private database itself.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type DiscoveryJobMessage, jobMessage } from '../../src/discovery/messages';
import { relayDiscovery } from '../../src/discovery/relay';
import worker from '../../src/index';
import { createLogger } from '../../src/observability/logger';
import { holdGapLock, newInterest, newJob } from './discovery-support';
import { useFreshWorkerDatabase } from './fresh-db';

const fresh = useFreshWorkerDatabase();
const log = createLogger({ test: 'discovery-chains' });

/** The real DISCOVERY queue, noting what the relay sends. */
function recordingQueue(): { queue: Queue; sent: DiscoveryJobMessage[] } {
  const sent: DiscoveryJobMessage[] = [];
  const queue = Object.create(env.DISCOVERY, {
    sendBatch: {
      value: async (messages: MessageSendRequest<DiscoveryJobMessage>[]) => {
        sent.push(...messages.map((m) => m.body));
        await env.DISCOVERY.sendBatch(messages);
      },
    },
  }) as Queue;
  return { queue, sent };
}

async function relay(jobId: string): Promise<DiscoveryJobMessage> {
  const { queue, sent } = recordingQueue();
  expect((await relayDiscovery(fresh.db, queue, log, { jobIds: [jobId] })).relayed).toBe(1);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

/** Deliver messages (one batch) to the Worker with the private database, on `queue`. */
async function deliver(queue: 'edge-discovery' | 'edge-discovery-dlq', ...bodies: DiscoveryJobMessage[]) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body) => ({ id: `chain-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, fresh.env, ctx);
  return getQueueResult(batch, ctx);
}

const row = async (id: string) =>
  (
    await fresh.db.query<{ status: string; attempts: number; generation: string; last_error: string | null; relayed_at: Date | null }>(
      'SELECT status, attempts, generation, last_error, relayed_at FROM public.marketplace_discovery_queue WHERE id = $1',
      [id],
    )
  )[0]!;

const TRAVEL = '66666666-6666-6666-6666-666666666666';

describe('one message chain per job', () => {
  it("the relay's resend starts a new chain: the presumed-lost message, arriving late, changes nothing", async () => {
    const job = await newJob(fresh.db, TRAVEL);
    const first = await relay(job);
    expect(first.gen).toBe(Number((await row(job)).generation));
    // 16 minutes without a delivery: the relay presumes the message lost and sends another.
    await fresh.db.query(`UPDATE public.marketplace_discovery_queue SET relayed_at = now() - interval '16 minutes' WHERE id = $1`, [job]);
    const second = await relay(job);
    expect(second.gen).toBeGreaterThan(first.gen!);

    const late = await deliver('edge-discovery', first);
    expect(late.explicitAcks).toHaveLength(1); // acked, not retried
    expect(await row(job)).toMatchObject({ status: 'queued', attempts: 0 });

    await deliver('edge-discovery', second);
    expect(await row(job)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('the old and the new chain in one batch, old first: the new one owns the job, both are acked', async () => {
    const job = await newJob(fresh.db, TRAVEL);
    const first = await relay(job);
    await fresh.db.query(`UPDATE public.marketplace_discovery_queue SET relayed_at = now() - interval '16 minutes' WHERE id = $1`, [job]);
    const second = await relay(job);
    const result = await deliver('edge-discovery', first, second);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    expect(await row(job)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('queue-worker taking over a relayed job ends the queue chain; the relay then starts a new one', async () => {
    const topic = `discovery.chains-${crypto.randomUUID()}`;
    const { interestId, categoryId } = await newInterest(fresh.db);
    const job = await newJob(fresh.db, interestId, { topic });
    const queued = await relay(job);

    // queue-worker leases it (a new generation) and fails on a held gap row.
    const lock = await holdGapLock(fresh.db, interestId, categoryId);
    try {
      const run = await fresh.fetch('/functions/v1/queue-worker', { method: 'POST', json: { topic, limit: 10, ttl: 30 } });
      expect(run.json).toEqual({ processed: 0, errors: 1 });
    } finally {
      await lock.release();
    }
    const afterWorker = await row(job);
    expect(afterWorker).toMatchObject({ status: 'queued', attempts: 1 });
    expect(Number(afterWorker.generation)).toBeGreaterThan(queued.gen!);

    // The queue's message of the old chain arrives: stale, no lease, no attempt spent.
    await deliver('edge-discovery', queued);
    expect(await row(job)).toMatchObject({ status: 'queued', attempts: 1 });

    // The failed row changed after its last relay, so the relay starts the next chain.
    const next = await relay(job);
    expect(next.gen).toBeGreaterThan(Number(afterWorker.generation));
    await deliver('edge-discovery', next);
    expect(await row(job)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('a stale dead letter cannot kill a just-redriven job; redrive clears last_error and names the job in the ledger', async () => {
    const job = await newJob(fresh.db, TRAVEL);
    const chain = await relay(job);
    await fresh.db.query(`UPDATE public.marketplace_discovery_queue SET last_error = 'boom', attempts = 6 WHERE id = $1`, [job]);
    await deliver('edge-discovery-dlq', chain);
    expect(await row(job)).toMatchObject({ status: 'error', last_error: 'boom' });

    const requestId = `chains-${crypto.randomUUID()}`;
    const redrive = await fresh.fetch('/admin/dlq/redrive', {
      method: 'POST',
      json: { ids: [job], reason: 'fixed' },
      headers: { 'x-request-id': requestId },
    });
    expect(redrive.json).toMatchObject({ discovery: 1 });
    const revived = await row(job);
    expect(revived).toMatchObject({ status: 'queued', attempts: 0, last_error: null });
    expect(revived.relayed_at).not.toBeNull(); // relayed at once, with a new generation
    expect(Number(revived.generation)).toBeGreaterThan(chain.gen!);
    const [entry] = await fresh.db.query<{ target: string; metadata: { last_errors: Record<string, string> } }>(
      'SELECT target, metadata FROM public.ai_action_ledger WHERE request_id = $1',
      [requestId],
    );
    expect(entry).toMatchObject({ target: `dlq:${job}`, metadata: { last_errors: { [job]: 'boom' } } });

    // The DLQ delivers the old chain's dead message again: the redriven job stays alive.
    await deliver('edge-discovery-dlq', chain);
    expect(await row(job)).toMatchObject({ status: 'queued' });
    // Its current chain's dead letter still marks it dead.
    await deliver('edge-discovery-dlq', jobMessage(job, 'discovery.user-signup', Number(revived.generation)));
    expect(await row(job)).toMatchObject({ status: 'error' });
  });
});
