// Poison and exhausted messages are never dropped silently: they land in the dead-letter ledger
// (events_queue status 'error') and show in vw_dead_letter_queue.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

async function deliver(queue: string, bodies: unknown[]) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({
      id: `${crypto.randomUUID()}-${i}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return { result: await getQueueResult(batch, ctx), ids: batch.messages.map((m) => m.id) };
}

async function deadRows(ids: string[]) {
  return db.query<{ topic: string; last_error: string; status: string }>(
    `SELECT topic, last_error, status FROM public.events_queue WHERE payload->>'message_id' = ANY($1) ORDER BY topic`,
    [ids],
  );
}

describe('queue dead letters', () => {
  it('acks a message of unknown type on the events queue and records it as dead, once', async () => {
    const marker = crypto.randomUUID();
    const { result, ids } = await deliver('edge-events', [{ type: 'no.such.type', marker }, 'not even an object']);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(result.retryMessages).toEqual([]);
    const rows = await deadRows(ids);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.status === 'error')).toBe(true);
    expect(rows.find((r) => r.topic === 'no.such.type')!.last_error).toMatch(/unknown message type/);
    const view = await db.query(
      "SELECT source, topic FROM public.vw_dead_letter_queue WHERE id = ANY(SELECT id::text FROM public.events_queue WHERE payload->>'message_id' = ANY($1))",
      [ids],
    );
    expect(view).toHaveLength(2);
  });

  it('records messages arriving on a dead-letter queue with the queue they died on', async () => {
    const { result, ids } = await deliver('edge-discovery-dlq', [{ type: 'discovery.job', job_id: crypto.randomUUID() }]);
    expect(result.ackAll).toBe(true);
    const rows = await deadRows(ids);
    expect(rows).toEqual([{ topic: 'discovery.job', status: 'error', last_error: 'retries exhausted on edge-discovery' }]);
  });

  it('recording the same dead message twice adds one row', async () => {
    const batch = createMessageBatch('edge-events-dlq', [
      { id: `dup-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 6, body: { type: 'x' } },
    ]);
    await worker.queue(batch, env, createExecutionContext());
    await worker.queue(batch, env, createExecutionContext());
    expect(await deadRows([batch.messages[0]!.id])).toHaveLength(1);
  });
});
