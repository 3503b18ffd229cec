// GET/PUT /v1/me/interests, POST /v1/me/signals, GET /v1/me/suggestions: validation that names the
// field, RLS (a caller only ever sees and writes their own rows), and PUT queueing discovery in
// the same transaction as the interests.
import { afterAll, describe, expect, it } from 'vitest';
import { newInterest, newUser } from './discovery-support';
import { call, envelope, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());

const HIKING = '11111111-1111-1111-1111-111111111111';
const PHOTO = '22222222-2222-2222-2222-222222222222';
const COOKING = '33333333-3333-3333-3333-333333333333';

const putInterests = async (user: string, interests: unknown) =>
  call('/v1/me/interests', { method: 'PUT', headers: await userHeaders(user), json: { interests } });

describe('interests', () => {
  it('requires a user token', async () => {
    expect((await call('/v1/me/interests')).status).toBe(401);
    expect((await call('/v1/me/suggestions')).status).toBe(401);
  });

  it('PUT replaces the interests and queues discovery (jobs + outbox row) in the same transaction', async () => {
    const user = await newUser(db);
    const first = await putInterests(user, [
      { interest_id: HIKING, affinity: 0.9 },
      { interest_id: PHOTO, affinity: 0.4 },
    ]);
    expect(first.status).toBe(200);
    expect(first.json.discovery).toEqual({ queued: 2 });
    expect(first.json.interests.map((i: any) => [i.interest_id, i.name, i.affinity])).toEqual([
      [HIKING, 'Hiking', 0.9],
      [PHOTO, 'Photography', expect.closeTo(0.4, 5)],
    ]);
    const jobs = await db.query<{ interest_id: string; status: string }>(
      'SELECT interest_id, status FROM public.marketplace_discovery_queue WHERE user_id = $1 ORDER BY interest_id',
      [user],
    );
    expect(jobs).toEqual([
      { interest_id: HIKING, status: 'queued' },
      { interest_id: PHOTO, status: 'queued' },
    ]);
    const outbox = await db.query<{ payload: { job_ids: string[] } }>(
      `SELECT payload FROM public.events_queue WHERE topic = 'discovery.user-signup' AND payload->>'user_id' = $1`,
      [user],
    );
    expect(outbox).toHaveLength(1);
    expect(outbox[0]!.payload.job_ids).toHaveLength(2);

    // Replace: PHOTO goes, COOKING comes; HIKING still has a live job, so only COOKING is queued.
    const second = await putInterests(user, [
      { interest_id: HIKING, affinity: 1 },
      { interest_id: COOKING, affinity: 0 },
    ]);
    expect(second.json.discovery).toEqual({ queued: 1 });
    const got = await call('/v1/me/interests', { headers: await userHeaders(user) });
    expect(got.status).toBe(200);
    expect(got.json.interests.map((i: any) => [i.interest_id, i.affinity])).toEqual([
      [HIKING, 1],
      [COOKING, 0],
    ]);
  });

  it('a rejected write changes nothing and queues nothing', async () => {
    const user = await newUser(db);
    await putInterests(user, [{ interest_id: HIKING, affinity: 0.5 }]);
    const bad = await putInterests(user, [
      { interest_id: PHOTO, affinity: 0.5 },
      { interest_id: crypto.randomUUID(), affinity: 0.5 },
    ]);
    expect(bad.status).toBe(400);
    const rows = await db.query('SELECT interest_id FROM public.user_interests WHERE user_id = $1', [user]);
    expect(rows).toEqual([{ interest_id: HIKING }]);
    const jobs = await db.query('SELECT 1 FROM public.marketplace_discovery_queue WHERE user_id = $1', [user]);
    expect(jobs).toHaveLength(1);
  });

  it.each([
    [
      'an unknown interest id',
      [
        { interest_id: HIKING, affinity: 0.5 },
        { interest_id: '99999999-9999-9999-9999-999999999999', affinity: 0.5 },
      ],
      'interests.1.interest_id: unknown interest',
    ],
    ['an affinity above 1', [{ interest_id: HIKING, affinity: 1.5 }], 'interests.0.affinity:'],
    ['a negative affinity', [{ interest_id: HIKING, affinity: -0.1 }], 'interests.0.affinity:'],
    ['a missing affinity', [{ interest_id: HIKING }], 'interests.0.affinity:'],
    ['an id that is not a uuid', [{ interest_id: 'hiking', affinity: 0.5 }], 'interests.0.interest_id:'],
    [
      'the same interest twice',
      [
        { interest_id: HIKING, affinity: 0.5 },
        { interest_id: HIKING, affinity: 0.6 },
      ],
      'interests.1.interest_id: listed twice',
    ],
    ['too many interests', Array.from({ length: 101 }, () => ({ interest_id: HIKING, affinity: 0.5 })), 'interests:'],
    ['an unknown field', [{ interest_id: HIKING, affinity: 0.5, weight: 2 }], 'interests.0:'],
  ])('400 naming the field for %s', async (_, interests, message) => {
    const { status, json } = await putInterests(await newUser(db), interests);
    expect(status).toBe(400);
    expect(envelope(json).message).toContain(message);
  });

  it('413 for a body over 64 KB', async () => {
    const user = await newUser(db);
    const res = await call('/v1/me/interests', {
      method: 'PUT',
      headers: await userHeaders(user),
      json: { interests: [], pad: 'x'.repeat(70_000) },
    });
    expect(res.status).toBe(413);
    expect(envelope(res.json).code).toBe('payload_too_large');
  });

  it('provisions a caller on first sight; 409 if the row vanishes while the edge remembers the user', async () => {
    // The auth step upserts auth.users the first time an isolate sees a user (issue 6), so a
    // brand-new caller can write at once.
    const user = crypto.randomUUID();
    expect((await putInterests(user, [{ interest_id: HIKING, affinity: 0.5 }])).status).toBe(200);
    // Deleted behind the edge's back (the isolate does not upsert again for a while): 409.
    await db.query('DELETE FROM auth.users WHERE id = $1', [user]);
    const res = await putInterests(user, [{ interest_id: HIKING, affinity: 0.5 }]);
    expect(res.status).toBe(409);
    expect(envelope(res.json).code).toBe('user_not_provisioned');
  });

  it("a caller never sees another user's interests", async () => {
    const alice = await newUser(db);
    const bob = await newUser(db);
    await putInterests(bob, [{ interest_id: HIKING, affinity: 0.7 }]);
    const got = await call('/v1/me/interests', { headers: await userHeaders(alice) });
    expect(got.json.interests).toEqual([]);
  });
});

describe('signals', () => {
  const post = async (user: string, json: unknown) => call('/v1/me/signals', { method: 'POST', headers: await userHeaders(user), json });

  it('stores the caller’s signals', async () => {
    const user = await newUser(db);
    const res = await post(user, {
      signals: [{ kind: 'view', interest_id: PHOTO, strength: 0.5, context: { surface: 'feed' } }, { kind: 'search' }],
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ accepted: 2 });
    const rows = await db.query<{ kind: string; interest_id: string | null; strength: number; context: unknown }>(
      'SELECT kind, interest_id, strength, context FROM public.intent_signals WHERE user_id = $1 ORDER BY id',
      [user],
    );
    expect(rows).toEqual([
      { kind: 'view', interest_id: PHOTO, strength: 0.5, context: { surface: 'feed' } },
      { kind: 'search', interest_id: null, strength: 1, context: {} },
    ]);
  });

  it.each([
    [{ signals: [] }, 'signals:'],
    [{ signals: [{ kind: 'view', interest_id: '99999999-9999-9999-9999-999999999999' }] }, 'signals.0.interest_id: unknown interest'],
    [{ signals: [{ kind: 'view', strength: 2 }] }, 'signals.0.strength:'],
    [{ signals: [{ kind: 'has spaces' }] }, 'signals.0.kind:'],
    [{ signals: [{ kind: 'x'.repeat(65) }] }, 'signals.0.kind:'],
    [{ signals: [{ kind: 'view', context: { blob: 'x'.repeat(3000) } }] }, 'signals.0.context:'],
    [{ signals: Array.from({ length: 51 }, () => ({ kind: 'view' })) }, 'signals:'],
  ])('400 naming the field for %j', async (body, message) => {
    const res = await post(await newUser(db), body);
    expect(res.status).toBe(400);
    expect(envelope(res.json).message).toContain(message);
  });
});

describe('suggestions', () => {
  it('lists the best candidates for the caller’s interests, honouring limit', async () => {
    const user = await newUser(db);
    const { interestId } = await newInterest(db, 4);
    await putInterests(user, [
      { interest_id: interestId, affinity: 1 },
      { interest_id: HIKING, affinity: 0.1 },
    ]);
    const all = await call('/v1/me/suggestions', { headers: await userHeaders(user) });
    expect(all.status).toBe(200);
    expect(all.json.suggestions).toHaveLength(5);
    expect(all.json.reason).toBeUndefined();
    expect(all.json.suggestions.at(-1).title).toBe('Ultralight trail backpack');
    const two = await call('/v1/me/suggestions?limit=2', { headers: await userHeaders(user) });
    expect(two.json.suggestions.map((s: any) => s.candidate_id)).toEqual(all.json.suggestions.slice(0, 2).map((s: any) => s.candidate_id));
  });

  it('empty with a reason when the caller has no interests, or no candidates', async () => {
    const user = await newUser(db);
    const none = await call('/v1/me/suggestions', { headers: await userHeaders(user) });
    expect(none.json).toEqual({ suggestions: [], reason: 'no_interests' });
    const { interestId } = await newInterest(db, 0);
    await putInterests(user, [{ interest_id: interestId, affinity: 1 }]);
    const empty = await call('/v1/me/suggestions', { headers: await userHeaders(user) });
    expect(empty.json).toEqual({ suggestions: [], reason: 'no_candidates' });
  });

  it.each(['0', '51', 'ten'])('400 naming limit for limit=%s', async (limit) => {
    const res = await call(`/v1/me/suggestions?limit=${limit}`, { headers: await userHeaders(await newUser(db)) });
    expect(res.status).toBe(400);
    expect(envelope(res.json).message).toContain('limit:');
  });
});
