// Discovery work from PUT /v1/me/interests is bounded by what changed (issue 21): a job per interest
// added or whose affinity changed, none for an unchanged one, the queued jobs of removed interests
// cancelled, at most one live job per (user, interest). The guide's enqueue_discovery_for_user
// keeps queueing every interest without a live job.
import { afterAll, describe, expect, it } from 'vitest';
import { newUser } from './discovery-support';
import { call, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());

/** The six seeded catalog interests (seeds/0002_catalog.sql). */
const [I1, I2, I3, I4, I5, I6] = [
  '11111111-1111-1111-1111-111111111111',
  '22222222-2222-2222-2222-222222222222',
  '33333333-3333-3333-3333-333333333333',
  '44444444-4444-4444-4444-444444444444',
  '55555555-5555-5555-5555-555555555555',
  '66666666-6666-6666-6666-666666666666',
] as const;

const put = async (user: string, interests: [string, number][]) =>
  call('/v1/me/interests', {
    method: 'PUT',
    headers: await userHeaders(user),
    json: { interests: interests.map(([interest_id, affinity]) => ({ interest_id, affinity })) },
  });

const jobs = (user: string) =>
  db.query<{ interest_id: string; status: string }>(
    'SELECT interest_id, status FROM public.marketplace_discovery_queue WHERE user_id = $1 ORDER BY interest_id, created_at',
    [user],
  );

/** What the consumer does when it finishes a job (the queue is not running in these tests). */
const finishAll = (user: string) =>
  db.query(
    `UPDATE public.marketplace_discovery_queue SET status = 'done', processed_at = now(), lease_token = NULL, lease_expires_at = NULL
      WHERE user_id = $1 AND status IN ('queued', 'processing')`,
    [user],
  );

describe('PUT /v1/me/interests queues discovery for what changed', () => {
  it('five identical PUTs queue each interest once, even after its job finished', async () => {
    const user = await newUser(db);
    const list: [string, number][] = [
      [I1, 0.9],
      [I2, 0.8],
      [I3, 0.7],
      [I4, 0.6],
      [I5, 0.5],
      [I6, 0.4],
    ];
    const queued: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await put(user, list);
      expect(res.status).toBe(200);
      queued.push(res.json.discovery.queued);
      await finishAll(user); // the consumer is fast: every job done before the next PUT
    }
    expect(queued).toEqual([6, 0, 0, 0, 0]);
    expect(await jobs(user)).toHaveLength(6);
  });

  it('{1,2} → {3,4} → {5,6}: the removed interests’ queued jobs are cancelled, 2 live jobs remain', async () => {
    const user = await newUser(db);
    for (const pair of [
      [I1, I2],
      [I3, I4],
      [I5, I6],
    ]) {
      const res = await put(
        user,
        pair.map((id) => [id, 0.5]),
      );
      expect(res.json.discovery).toEqual({ queued: 2 });
    }
    expect(await jobs(user)).toEqual([
      { interest_id: I5, status: 'queued' },
      { interest_id: I6, status: 'queued' },
    ]);
    // One outbox row per PUT that queued work (the relay settles them; cancelled jobs hold none back).
    const outbox = await db.query<{ payload: { job_ids: string[] } }>(
      `SELECT payload FROM public.events_queue WHERE topic = 'discovery.user-signup' AND payload->>'user_id' = $1 ORDER BY id`,
      [user],
    );
    expect(outbox).toHaveLength(3);
  });

  it('a changed affinity queues its interest again; an unchanged one does not; a removed leased job runs on', async () => {
    const user = await newUser(db);
    await put(user, [
      [I1, 0.5],
      [I2, 0.5],
    ]);
    await finishAll(user);
    const changed = await put(user, [
      [I1, 0.9],
      [I2, 0.5],
    ]);
    expect(changed.json.discovery).toEqual({ queued: 1 });
    expect((await jobs(user)).filter((j) => j.status === 'queued')).toEqual([{ interest_id: I1, status: 'queued' }]);

    // A worker holds I1's job; removing I1 leaves that job to finish (only queued jobs are cancelled).
    await db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'processing', lease_token = gen_random_uuid(),
              lease_expires_at = now() + interval '2 minutes' WHERE user_id = $1 AND interest_id = $2 AND status = 'queued'`,
      [user, I1],
    );
    const removed = await put(user, [[I2, 0.5]]);
    expect(removed.json.discovery).toEqual({ queued: 0 });
    expect((await jobs(user)).filter((j) => j.status !== 'done')).toEqual([{ interest_id: I1, status: 'processing' }]);
  });

  it("the guide's enqueue_discovery_for_user still queues every interest without a live job", async () => {
    const user = await newUser(db);
    await put(user, [
      [I1, 0.5],
      [I2, 0.5],
      [I3, 0.5],
    ]);
    expect(await db.query('SELECT public.enqueue_discovery_for_user($1) AS n', [user])).toEqual([{ n: 0 }]); // all live
    await finishAll(user);
    expect(await db.query('SELECT public.enqueue_discovery_for_user($1) AS n', [user])).toEqual([{ n: 3 }]);
    expect((await jobs(user)).filter((j) => j.status === 'queued')).toHaveLength(3);
  });
});
