// POST /functions/v1/queue-worker and /functions/v1/rocker-discovery-run, and the per-minute cron:
// validation, concurrent workers taking disjoint rows, failure accounting, the relay and the
// outbox, and stuck work (expired leases) — by the cron and by the guide's §8 SQL, verbatim.
// Whole-database jobs (relay, requeue) run against a private database clone.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import guideMarkdown from '../../docs/spec/day0-cutover-guide.md?raw';
import worker from '../../src/index';
import { guideSqlOf } from '../support/guide-text';
import { holdGapLock, jobRows, newInterest, newJob, newUser } from './discovery-support';
import { useFreshWorkerDatabase } from './fresh-db';
import { call, envelope, serviceHeaders, testDb, userHeaders } from './support';

const db = testDb();
const fresh = useFreshWorkerDatabase();
afterAll(() => db.end());

const work = (json: unknown, headers = serviceHeaders()) => call('/functions/v1/queue-worker', { method: 'POST', headers, json });
const uniqueTopic = () => `discovery.test-${crypto.randomUUID().slice(0, 8)}`;

/** Call the Worker against the private database. */
const freshCall = (path: string) => fresh.fetch(path, { method: 'POST' });

describe('POST /functions/v1/queue-worker: input', () => {
  it('requires the service key', async () => {
    expect((await work({ topic: 'discovery.user-signup' }, {})).status).toBe(401);
    const asUser = await work({ topic: 'discovery.user-signup' }, await userHeaders(crypto.randomUUID()));
    expect(asUser.status).toBe(403);
  });

  it.each([
    [{}, 'topic'],
    [{ topic: 'events.learning' }, 'topic'],
    [{ topic: 'discovery.user-signup', limit: 0 }, 'limit'],
    [{ topic: 'discovery.user-signup', limit: 1000 }, 'limit'],
    [{ topic: 'discovery.user-signup', limit: 2.5 }, 'limit'],
    [{ topic: 'discovery.user-signup', ttl: 'soon' }, 'ttl'],
    [{ topic: 'discovery.user-signup', ttl: 1 }, 'ttl'],
    [{ topic: 'discovery.user-signup', lease: 30 }, '(root)'],
    [[1, 2], '(root)'],
  ])('400 naming the field for %j', async (body, field) => {
    const { status, json } = await work(body);
    expect(status).toBe(400);
    const err = envelope(json);
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain(`${field}:`);
  });

  it('400 for a body that is not JSON; 415 for one not declared as JSON', async () => {
    const notJson = await call('/functions/v1/queue-worker', {
      method: 'POST',
      headers: { ...serviceHeaders(), 'content-type': 'application/json' },
      body: '{"topic":',
    });
    expect(notJson.status).toBe(400);
    expect(envelope(notJson.json).message).toMatch(/JSON/);
    const noType = await call('/functions/v1/queue-worker', {
      method: 'POST',
      headers: serviceHeaders(),
      body: 'topic=discovery.user-signup',
    });
    expect(noType.status).toBe(415);
    expect(envelope(noType.json).code).toBe('unsupported_media_type');
  });

  it('a topic with nothing queued processes nothing', async () => {
    expect((await work({ topic: uniqueTopic(), limit: 5, ttl: 30 })).json).toEqual({ processed: 0, errors: 0 });
  });
});

describe('POST /functions/v1/queue-worker: processing', () => {
  it('concurrent calls never process the same row', async () => {
    const topic = uniqueTopic();
    const { interestId } = await newInterest(db, 3);
    const user = await newUser(db);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await newJob(db, (await newInterest(db)).interestId, { topic, userId: user }));
    ids.push(await newJob(db, interestId, { topic, userId: user }));
    const results = await Promise.all([1, 2, 3].map(() => work({ topic, limit: 20, ttl: 60 })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const processed = results.map((r) => r.json.processed as number);
    expect(results.every((r) => r.json.errors === 0)).toBe(true);
    expect(processed.reduce((a, b) => a + b, 0)).toBe(41); // every row once, none twice
    const rows = await jobRows(db, ids);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
  });

  it('counts failures, keeps attempts and last_error, and kills a row after 6 attempts', async () => {
    const topic = uniqueTopic();
    const stuck = await newInterest(db);
    const failing = await newJob(db, stuck.interestId, { topic });
    const healthy = await newJob(db, (await newInterest(db)).interestId, { topic });
    const lock = await holdGapLock(db, stuck.interestId, stuck.categoryId);
    try {
      expect((await work({ topic, limit: 10, ttl: 30 })).json).toEqual({ processed: 1, errors: 1 });
      const [f, h] = await jobRows(db, [failing, healthy]);
      expect(h).toMatchObject({ status: 'done', attempts: 1 });
      expect(f).toMatchObject({ status: 'queued', attempts: 1, lease_token: null });
      expect(f!.last_error).toMatch(/lock timeout/);
      for (let i = 2; i <= 6; i++) expect((await work({ topic, limit: 10, ttl: 30 })).json).toEqual({ processed: 0, errors: 1 });
    } finally {
      await lock.release();
    }
    const [dead] = await jobRows(db, [failing]);
    expect(dead).toMatchObject({ status: 'error', attempts: 6 });
    expect(dead!.dead_at).not.toBeNull();
    const view = await db.query('SELECT source, attempts FROM public.vw_dead_letter_queue WHERE id = $1', [failing]);
    expect(view).toEqual([{ source: 'discovery', attempts: 6 }]);
    expect((await work({ topic, limit: 10, ttl: 30 })).json).toEqual({ processed: 0, errors: 0 }); // dead rows are not leased
  });

  it('takes over a row whose lease expired, but not one under a live lease', async () => {
    const topic = uniqueTopic();
    const expired = await newJob(db, (await newInterest(db)).interestId, { topic });
    const live = await newJob(db, (await newInterest(db)).interestId, { topic });
    await db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'processing', lease_token = gen_random_uuid(),
                      lease_expires_at = now() - interval '1 second', attempts = 1 WHERE id = $1`,
      [expired],
    );
    await db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'processing', lease_token = gen_random_uuid(),
                      lease_expires_at = now() + interval '5 minutes', attempts = 1 WHERE id = $1`,
      [live],
    );
    expect((await work({ topic, limit: 10, ttl: 30 })).json).toEqual({ processed: 1, errors: 0 });
    const [e, l] = await jobRows(db, [expired, live]);
    expect(e).toMatchObject({ status: 'done', attempts: 2 });
    expect(l).toMatchObject({ status: 'processing', attempts: 1 });
  });
});

describe('relay and stuck work (private database)', () => {
  it('rocker-discovery-run relays queued jobs once and settles the outbox', async () => {
    const user = await newUser(fresh.db);
    await fresh.db.query(
      `INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES
      ($1, '44444444-4444-4444-4444-444444444444', 0.5), ($1, '55555555-5555-5555-5555-555555555555', 0.6)`,
      [user],
    );
    await fresh.db.query('SELECT public.enqueue_discovery_for_user($1)', [user]);

    const first = await freshCall('/functions/v1/rocker-discovery-run');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ requeued: 0, relayed: 2, outbox_done: 1, outbox_malformed: 0 });
    const jobs = await fresh.db.query<{ relayed_at: Date | null; status: string }>(
      'SELECT relayed_at, status FROM public.marketplace_discovery_queue WHERE user_id = $1',
      [user],
    );
    expect(jobs.every((j) => j.relayed_at !== null && j.status === 'queued')).toBe(true);
    const [outbox] = await fresh.db.query<{ status: string }>(`SELECT status FROM public.events_queue WHERE payload->>'user_id' = $1`, [
      user,
    ]);
    expect(outbox!.status).toBe('done');

    const second = await freshCall('/functions/v1/rocker-discovery-run');
    expect(second.json).toEqual({ requeued: 0, relayed: 0, outbox_done: 0, outbox_malformed: 0 });

    const health = await fresh.db.query<{ topic: string; status: string; count: string }>(
      `SELECT topic, status, count FROM public.vw_events_queue_health WHERE topic = 'discovery.user-signup'`,
    );
    expect(health).toEqual([{ topic: 'discovery.user-signup', status: 'done', count: '1' }]);
  });

  it('a malformed outbox row is marked dead, not retried forever', async () => {
    const [row] = await fresh.db.query<{ id: string }>(
      `INSERT INTO public.events_queue (topic, payload) VALUES ('discovery.user-signup', '{"job_ids": "nope"}') RETURNING id`,
    );
    const run = await freshCall('/functions/v1/rocker-discovery-run');
    expect(run.json.outbox_malformed).toBe(1);
    const dead = await fresh.db.query<{ source: string; last_error: string }>(
      'SELECT source, last_error FROM public.vw_dead_letter_queue WHERE id = $1',
      [String(row!.id)],
    );
    expect(dead).toEqual([{ source: 'events', last_error: expect.stringMatching(/malformed outbox payload/) }]);
  });

  it('the per-minute cron requeues expired leases (ledger entry) and relays them again', async () => {
    const job = await newJob(fresh.db, '66666666-6666-6666-6666-666666666666');
    await fresh.db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'processing', lease_token = gen_random_uuid(),
                            lease_expires_at = now() - interval '1 minute', relayed_at = now() - interval '2 minutes' WHERE id = $1`,
      [job],
    );
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), fresh.env, ctx);
    await waitOnExecutionContext(ctx);
    const [row] = await jobRows(fresh.db, [job]);
    expect(row).toMatchObject({ status: 'queued', lease_token: null });
    expect(row!.relayed_at!.getTime()).toBeGreaterThan(Date.now() - 60_000); // sent again just now
    const ledger = await fresh.db.query<{ actor: string; new_value: { requeued: number; ids: string[] } }>(
      `SELECT actor, new_value FROM public.ai_action_ledger WHERE action = 'queue.requeue_expired' ORDER BY id DESC LIMIT 1`,
    );
    expect(ledger[0]).toMatchObject({ actor: 'cron:discovery-relay', new_value: { requeued: 1, ids: [job] } });
  });

  it("the guide's §8 stuck-queue SQL, verbatim, finds and requeues stuck items; the relay sends them again", async () => {
    const [check, requeue] = guideSqlOf(guideMarkdown, 'Queue Stuck');
    const job = await newJob(fresh.db, '66666666-6666-6666-6666-666666666666');
    await fresh.db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'processing', lease_token = gen_random_uuid(),
                            lease_expires_at = now() - interval '5 minutes', relayed_at = now() - interval '6 minutes' WHERE id = $1`,
      [job],
    );
    const stuck = await fresh.db.query<{ id: string }>(check!);
    expect(stuck.map((r) => r.id)).toContain(job);
    await fresh.db.query(requeue!);
    expect((await fresh.db.query(check!)).length).toBe(0);
    const [row] = await jobRows(fresh.db, [job]);
    expect(row).toMatchObject({ status: 'queued', lease_token: null });

    const run = await freshCall('/functions/v1/rocker-discovery-run');
    expect(run.json.relayed).toBeGreaterThanOrEqual(1);
    const [after] = await jobRows(fresh.db, [job]);
    expect(after!.relayed_at!.getTime()).toBeGreaterThan(row!.relayed_at!.getTime());
  });
});
