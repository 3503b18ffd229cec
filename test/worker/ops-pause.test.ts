// The rollback's pause switch (ops.pause_jobs): side-effecting crons are skipped and the discovery
// consumer hands messages back to the outbox while paused; monitoring and the flag sync keep
// running; resuming (even by plain SQL) lets the work continue. A private database: pausing is
// global, and other test files run discovery in parallel.
import { createExecutionContext, createMessageBatch, createScheduledController, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { newInterest, newJob } from './discovery-support';
import { useFreshWorkerDatabase } from './fresh-db';

const fresh = useFreshWorkerDatabase();

async function cron(expr: string) {
  await worker.scheduled(createScheduledController({ cron: expr, scheduledTime: Date.now() }), fresh.env, createExecutionContext());
}

const relayedAt = async (id: string) =>
  (
    await fresh.db.query<{ relayed_at: Date | null; status: string }>(
      'SELECT relayed_at, status FROM public.marketplace_discovery_queue WHERE id = $1',
      [id],
    )
  )[0]!;

describe('ops.pause_jobs', () => {
  it('PUT /admin/ops/pause pauses, records the ledger and reads back', async () => {
    const before = await fresh.fetch('/admin/ops/pause');
    expect(before).toMatchObject({ status: 200, json: { paused: false, updated_at: null } });
    const put = await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: true, reason: 'incident 42' } });
    expect(put).toMatchObject({ status: 200, json: { paused: true, changed: true } });
    const again = await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: true } });
    expect(again.json.changed).toBe(false);
    const ledger = await fresh.db.query<{ action: string; reason: string | null; new_value: unknown }>(
      `SELECT action, reason, new_value FROM public.ai_action_ledger WHERE target = 'ops.pause_jobs' ORDER BY id`,
    );
    expect(ledger[0]).toEqual({ action: 'ops.pause', reason: 'incident 42', new_value: { enabled: true } });
    const bad = await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: 'yes' } });
    expect(bad.status).toBe(400);
  });

  it('while paused: the relay is skipped, the consumer hands jobs back, the flag sync still runs', async () => {
    await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: true } });
    const { interestId } = await newInterest(fresh.db, 5);
    const job = await newJob(fresh.db, interestId);
    await cron('* * * * *');
    expect(await relayedAt(job)).toMatchObject({ relayed_at: null, status: 'queued' });

    // A message already in flight: acked (no retry spent), the job stays queued and unrelayed.
    await fresh.db.query('UPDATE public.marketplace_discovery_queue SET relayed_at = now() WHERE id = $1', [job]);
    const batch = createMessageBatch('edge-discovery', [
      { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: { type: 'discovery.job', job_id: job } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, fresh.env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([batch.messages[0]!.id]);
    expect(result.retryMessages).toEqual([]);
    expect(await relayedAt(job)).toMatchObject({ relayed_at: null, status: 'queued' });

    // Not paused: the flag sync (an operator must always be able to flip flags).
    await fresh.db.query(`UPDATE public.feature_flags SET value = '{"enabled": true}'::jsonb WHERE key = 'crush_mode.enabled'`);
    await cron('* * * * *');
    expect(await env.FLAGS.get('crush_mode.enabled', 'json')).toEqual({ enabled: true });
  });

  it('resuming by plain SQL lets the next cron relay the held-back jobs', async () => {
    await fresh.fetch('/admin/ops/pause', { method: 'PUT', json: { paused: true } });
    const { interestId } = await newInterest(fresh.db, 5);
    const job = await newJob(fresh.db, interestId);
    await cron('* * * * *');
    expect((await relayedAt(job)).relayed_at).toBeNull();
    await fresh.db.query(`UPDATE public.feature_flags SET value = '{"enabled": false}'::jsonb WHERE key = 'ops.pause_jobs'`);
    await cron('* * * * *');
    expect((await relayedAt(job)).relayed_at).not.toBeNull();
  });
});
