// GET /admin/dlq, POST /admin/dlq/redrive, POST /admin/dlq/purge: review, re-queue and clear dead
// work, each action in ai_action_ledger. By id on the shared database; "all" (and the guide's
// appendix SQL, verbatim) on a private clone.
import { afterAll, describe, expect, it } from 'vitest';
import guideMarkdown from '../../docs/spec/day0-cutover-guide.md?raw';
import { jobMessage } from '../../src/discovery/messages';
import { guideSqlOf } from '../support/guide-text';
import { jobRows, newInterest, newJob, newUser, waitFor } from './discovery-support';
import { useFreshWorkerDatabase } from './fresh-db';
import { call, type TestDb as Db, envelope, serviceHeaders, testDb } from './support';

const db = testDb();
const fresh = useFreshWorkerDatabase();
afterAll(() => db.end());

async function deadJob(d: Db, opts: { userId?: string; interestId?: string } = {}): Promise<string> {
  const interestId = opts.interestId ?? (await newInterest(d)).interestId;
  const id = await newJob(d, interestId, { userId: opts.userId });
  await d.query(
    `UPDATE public.marketplace_discovery_queue SET status = 'error', attempts = 6, last_error = 'boom', dead_at = now() WHERE id = $1`,
    [id],
  );
  return id;
}

const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
  call(path, { method: 'POST', headers: { ...serviceHeaders(), ...headers }, json });

async function ledger(d: Db, requestId: string) {
  return d.query<{ actor: string; action: string; target: string; old_value: any; new_value: any; reason: string | null }>(
    'SELECT actor, action, target, old_value, new_value, reason FROM public.ai_action_ledger WHERE request_id = $1',
    [requestId],
  );
}

describe('dead letters by id', () => {
  it('requires the service key and a selection', async () => {
    expect((await call('/admin/dlq')).status).toBe(401);
    const none = await post('/admin/dlq/purge', {});
    expect(none.status).toBe(400);
    expect(envelope(none.json).message).toContain('ids:');
    const bad = await post('/admin/dlq/redrive', { ids: ['not-an-id'] });
    expect(bad.status).toBe(400);
    expect(envelope(bad.json).message).toContain('ids.0:');
  });

  it('lists dead jobs with interest, attempts, last error and since when', async () => {
    const id = await deadJob(db);
    const { status, json } = await call('/admin/dlq?source=discovery&limit=500', { headers: serviceHeaders() });
    expect(status).toBe(200);
    const item = json.items.find((d: any) => d.id === id);
    expect(item).toMatchObject({ source: 'discovery', attempts: 6, last_error: 'boom', topic: 'discovery.user-signup' });
    expect(item.interest_name).toMatch(/^Interest /);
    expect(new Date(item.dead_since).getTime()).not.toBeNaN();
    expect(json.total.discovery).toBeGreaterThanOrEqual(1);
  });

  it('redrive re-queues a dead job, relays it at once, the consumer finishes it; ledger records who and why', async () => {
    const id = await deadJob(db);
    const requestId = `redrive-${crypto.randomUUID()}`;
    const res = await post('/admin/dlq/redrive', { ids: [id], reason: 'catalog fixed' }, { 'x-request-id': requestId, 'x-actor': 'cli' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ discovery: 1, superseded: 0, events_resent: 0, events_requeued: 0, events_unsendable: 0 });
    const [revived] = await jobRows(db, [id]);
    expect(revived).toMatchObject({ attempts: 0, dead_at: null, last_error: null }); // issue 21: redrive clears last_error
    expect(revived!.relayed_at).not.toBeNull();
    const done = await waitFor(
      () => jobRows(db, [id]),
      (r) => r[0]!.status === 'done',
      30_000,
      'redriven job done',
    );
    expect(done[0]!.attempts).toBe(1);
    expect(await ledger(db, requestId)).toEqual([
      {
        actor: 'cli',
        action: 'dlq.redrive',
        target: `dlq:${id}`, // issue 21: a redrive by id names the ids (was dlq:all)
        old_value: null,
        reason: 'catalog fixed',
        new_value: { discovery: 1, superseded: 0, events_resent: 0, events_requeued: 0, events_unsendable: 0 },
      },
    ]);
  });

  it('redrive leaves a dead job whose user and interest already have a live job (superseded)', async () => {
    const user = await newUser(db);
    const { interestId } = await newInterest(db);
    const older = await deadJob(db, { userId: user, interestId });
    const newer = await deadJob(db, { userId: user, interestId });
    const res = await post('/admin/dlq/redrive', { ids: [older, newer] });
    expect(res.json).toMatchObject({ discovery: 1, superseded: 1 });
    const [o, n] = await jobRows(db, [older, newer]);
    expect(o!.status).toBe('error');
    expect(n!.status).not.toBe('error');
  });

  it('redrive re-sends a dead queue message to the queue it died on', async () => {
    const job = await newJob(db, (await newInterest(db)).interestId);
    const [dead] = await db.query<{ id: string }>(
      `INSERT INTO public.events_queue (topic, payload, status, attempts, last_error, dead_at)
       VALUES ('discovery.job', $1::jsonb, 'error', 6, 'retries exhausted on edge-discovery', now()) RETURNING id::text`,
      [
        JSON.stringify({
          dead_key: `edge-discovery-dlq:${crypto.randomUUID()}`,
          queue: 'edge-discovery-dlq',
          message_id: 'm',
          body: jobMessage(job, 'discovery.user-signup'),
        }),
      ],
    );
    const res = await post('/admin/dlq/redrive', { ids: [dead!.id] });
    expect(res.json).toMatchObject({ events_resent: 1, discovery: 0 });
    const [row] = await db.query<{ status: string }>('SELECT status FROM public.events_queue WHERE id = $1', [dead!.id]);
    expect(row!.status).toBe('done');
    await waitFor(
      () => jobRows(db, [job]),
      (r) => r[0]!.status === 'done',
      30_000,
      'job of the re-sent message done',
    );
  });

  it('purge deletes the selected dead rows only, and records what it deleted', async () => {
    const gone = await deadJob(db);
    const kept = await deadJob(db);
    const requestId = `purge-${crypto.randomUUID()}`;
    const res = await post('/admin/dlq/purge', { ids: [gone], reason: 'reviewed' }, { 'x-request-id': requestId });
    expect(res.json).toEqual({ discovery: 1, events: 0 });
    expect(await jobRows(db, [gone, kept])).toEqual([expect.objectContaining({ id: kept, status: 'error' })]);
    expect(await ledger(db, requestId)).toEqual([
      {
        actor: 'api:service',
        action: 'dlq.purge',
        target: `dlq:${gone}`, // issue 21: an action by id names the ids (was dlq:all)
        old_value: { discovery: 1, events: 0, ids: [gone] },
        new_value: null,
        reason: 'reviewed',
      },
    ]);
  });
});

describe('dead letters, all of them (private database)', () => {
  const freshPost = async (path: string, json: unknown) => (await fresh.fetch(path, { method: 'POST', json })).json;

  it('redrive all / purge all, narrowed by source and age', async () => {
    const a = await deadJob(fresh.db);
    const b = await deadJob(fresh.db);
    await fresh.db.query(`UPDATE public.marketplace_discovery_queue SET dead_at = now() - interval '2 days' WHERE id = $1`, [a]);
    expect(await freshPost('/admin/dlq/purge', { all: true, source: 'discovery', older_than_seconds: 86_400 })).toEqual({
      discovery: 1,
      events: 0,
    });
    expect((await jobRows(fresh.db, [a, b])).map((r) => r.id)).toEqual([b]);
    expect(await freshPost('/admin/dlq/redrive', { all: true, source: 'discovery' })).toMatchObject({ discovery: 1 });
    expect((await fresh.db.query(`SELECT 1 FROM public.vw_dead_letter_queue WHERE source = 'discovery'`)).length).toBe(0);
  });

  it("the guide appendix's requeue and clear-DLQ statements run verbatim and do what they say", async () => {
    const statements = guideSqlOf(guideMarkdown, 'Appendix: SQL Quick Reference');
    const requeueAll = statements.find((s) => s.startsWith('UPDATE public.marketplace_discovery_queue'))!;
    const clearDlq = statements.find((s) => s.startsWith('DELETE FROM public.marketplace_discovery_queue'))!;
    const stuck = await newJob(fresh.db, '11111111-1111-1111-1111-111111111111');
    await fresh.db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'processing', lease_token = gen_random_uuid(), lease_expires_at = now() - interval '1 minute' WHERE id = $1`,
      [stuck],
    );
    const dead = await deadJob(fresh.db);
    await fresh.db.query(requeueAll);
    await fresh.db.query(clearDlq);
    expect(await jobRows(fresh.db, [stuck, dead])).toEqual([expect.objectContaining({ id: stuck, status: 'queued', lease_token: null })]);
  });
});
