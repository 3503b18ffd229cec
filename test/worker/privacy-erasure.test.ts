// DELETE /v1/me and DELETE /admin/users/{id}: a user with data in every store is erased, including
// queue messages that were still in flight, the crons run, and nothing about the user is left in any
// table, KV namespace or their RateLimiter object; the export shows everything before and nothing after.
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { FEATURE_KEYS } from '../../src/learning/feature-keys';
import { useFreshWorkerDatabase } from './fresh-db';
import { deliver, impressions, reward, runCron, setRankFlags, waitFor } from './learning-support';
import { kvMentioning, limiterState, rowsMentioning } from './privacy-support';
import { BASE, call, envelope, serviceHeaders, testDb, userToken } from './support';

const db = testDb();
afterAll(() => db.end());
const fresh = useFreshWorkerDatabase();
beforeAll(async () => {
  await setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0.2 } });
  // The logged context keys (the seeded default: locale, platform, app_version) reach this file's KV.
  expect((await call('/admin/context-keys/sync', { method: 'POST', headers: serviceHeaders() })).status).toBe(200);
});

const HIKING = '11111111-1111-1111-1111-111111111111';
const PHOTO = '22222222-2222-2222-2222-222222222222';
const ALL_CRONS = ['* * * * *', '*/5 * * * *', '0 2 * * *', '0 3 * * *'];

async function deliverDiscovery(jobIds: string[]) {
  const batch = createMessageBatch(
    'edge-discovery',
    jobIds.map((job_id, i) => ({
      id: `late-${crypto.randomUUID()}-${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: { type: 'discovery.job', job_id },
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

describe('erasure of one user from every store', () => {
  it('leaves no row, KV document or limiter state — in-flight messages included — and the export is empty after', async () => {
    const user = crypto.randomUUID();
    const email = `erase-${user}@example.test`;
    const auth = { authorization: `Bearer ${await userToken(user, { email })}` };
    const surface = `erase-${crypto.randomUUID()}`;

    // ---- data in every store
    const put = await call('/v1/me/interests', {
      method: 'PUT',
      headers: auth,
      json: {
        interests: [
          { interest_id: HIKING, affinity: 0.9 },
          { interest_id: PHOTO, affinity: 0.5 },
        ],
      },
    });
    expect(put.status).toBe(200);
    expect(put.json.discovery).toEqual({ queued: 2 });
    const signals = await call('/v1/me/signals', {
      method: 'POST',
      headers: auth,
      json: { signals: [{ kind: 'view', interest_id: HIKING, context: { email } }, { kind: 'search' }] },
    });
    expect(signals.status).toBe(201);
    const decisions: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await call('/v1/rank', {
        method: 'POST',
        headers: auth,
        json: { surface, limit: 3, candidates: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], context: { locale: 'de-DE', email } },
      });
      expect(r.status).toBe(200);
      decisions.push(r.json.decision_id);
    }
    await waitFor(
      async () => (await db.query('SELECT 1 FROM public.learning_events WHERE decision_id = ANY($1::uuid[])', [decisions])).length === 6,
      'the slates in learning_events',
    );
    const rewarded = await call('/v1/rewards', {
      method: 'POST',
      headers: auth,
      json: { decision_id: decisions[0], candidate_id: 'b', reward: 1 },
    });
    expect(rewarded.status).toBe(202);
    await waitFor(
      async () => (await db.query('SELECT 1 FROM public.learning_rewards WHERE user_id = $1', [user])).length === 1,
      'the reward in learning_rewards',
    );
    await db.query("INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, 900, 60)", [
      user,
    ]);
    expect((await call('/admin/rate-limits/sync', { method: 'POST', headers: serviceHeaders() })).status).toBe(200);
    await runCron('*/5 * * * *'); // hydrate-features writes the user's KV document
    await runCron('* * * * *'); // the relay hands the discovery jobs to the DISCOVERY queue
    const jobs = (await db.query<{ id: string }>('SELECT id FROM public.marketplace_discovery_queue WHERE user_id = $1', [user])).map(
      (j) => j.id,
    );
    expect(jobs).toHaveLength(2);

    // Every store holds the user now (so "nothing after" below means something).
    expect(await env.FEATURES.get(FEATURE_KEYS.user(user))).not.toBeNull();
    expect(await kvMentioning(user)).toEqual(expect.arrayContaining([`FEATURES ${FEATURE_KEYS.user(user)}`, 'LIMITS rate_limits:v1']));
    expect((await limiterState(user)).rows).toBeGreaterThan(0);
    const before = await rowsMentioning(db, user);
    for (const table of [
      'auth.users',
      'public.user_interests',
      'public.intent_signals',
      'public.learning_events',
      'public.learning_rewards',
      'public.marketplace_discovery_queue',
      'public.rate_limits',
      'public.events_queue',
    ]) {
      expect(
        before.some((f) => f.startsWith(`${table}.`)),
        `${table} holds the user before`,
      ).toBe(true);
    }

    // ---- the export before: every item
    const exported = await call('/v1/me/export', { headers: auth });
    expect(exported.status).toBe(200);
    const doc = exported.json;
    expect(doc).toMatchObject({ user_id: user, user: { id: user, email }, erasure: null, complete: true });
    expect(doc.interests.map((i: { interest_id: string }) => i.interest_id)).toEqual([HIKING, PHOTO]);
    expect(doc.signals.items.map((s: { kind: string }) => s.kind)).toEqual(['view', 'search']);
    expect(doc.learning_events.items).toHaveLength(6);
    expect(doc.learning_events.items.every((e: { context: unknown }) => JSON.stringify(e.context) === '{"locale":"de-DE"}')).toBe(true);
    expect(doc.rewards.items).toEqual([expect.objectContaining({ decision_id: decisions[0], candidate_id: 'b', reward: 1 })]);
    expect(doc.discovery_jobs.items.map((j: { id: string }) => j.id).sort()).toEqual([...jobs].sort());
    expect(doc.limit_overrides).toEqual([expect.objectContaining({ route_class: 'user', max_requests: 900 })]);

    // Messages built before the erasure that arrive after it (the queue still held them).
    const inFlightImpressions = impressions({ surface, cands: [{ id: 'x', score: 0 }], limit: 1, epsilon: 0, userId: user });
    const inFlightReward = reward(decisions[1]!, 'a', user, 0.5);

    // ---- erase
    const erased = await call('/v1/me', { method: 'DELETE', headers: auth });
    expect(erased.status).toBe(202);
    const erasureId = erased.json.erasure_id;
    expect(erased.json).toMatchObject({ created: true, status: 'complete', requested_by: 'user', last_error: null });
    expect(erased.json.stores.postgres.deleted).toMatchObject({
      'auth.users': 1,
      'public.user_interests': 2,
      'public.intent_signals': 2,
      'public.learning_events': 6,
      'public.learning_rewards': 1,
      'public.marketplace_discovery_queue': 2,
      'public.rate_limits': 1,
    });
    // Idempotent: the same erasure again (the repeat also removes its own request's limiter hit).
    const again = await call('/v1/me', { method: 'DELETE', headers: auth });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ erasure_id: erasureId, created: false, status: 'complete' });

    // The in-flight messages land now: acked, nothing written.
    const events = await deliver([inFlightImpressions, inFlightReward]);
    expect(events.explicitAcks).toHaveLength(2);
    expect(events.retryMessages).toEqual([]);
    const discovery = await deliverDiscovery(jobs);
    expect(discovery.explicitAcks).toHaveLength(2);
    expect(discovery.retryMessages).toEqual([]);

    for (const cron of ALL_CRONS) await runCron(cron);

    // ---- nothing left, anywhere
    expect(await rowsMentioning(db, user)).toEqual([]);
    expect(await rowsMentioning(db, email)).toEqual([]);
    expect(await kvMentioning(user)).toEqual([]);
    expect(await limiterState(user)).toEqual({ rows: 0, tables: [], alarm: false });

    const status = await call(`/admin/erasures/${erasureId}`, { headers: serviceHeaders() });
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({
      erasure_id: erasureId,
      status: 'complete',
      reason: 'requested by the user',
      stores: { tombstone: { done: true }, postgres: { done: true }, kv: { done: true }, limiter: { done: true } },
    });
    const ledger = await db.query<{ actor: string; reason: string }>(
      "SELECT actor, reason FROM public.ai_action_ledger WHERE action = 'user.erase' AND target = $1 ORDER BY id",
      [`erasure:${erasureId}`],
    );
    expect(ledger).toEqual([
      { actor: 'user', reason: 'requested by the user' },
      { actor: 'user', reason: 'requested by the user' },
    ]);

    // ---- the export after: nothing (only the erasure that happened); the user cannot write back
    const after = await call(`/admin/users/${user}/export`, { headers: serviceHeaders() });
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({
      user: null,
      erasure: { erasure_id: erasureId },
      interests: [],
      suggestions: [],
      limit_overrides: [],
      complete: true,
    });
    for (const part of ['signals', 'learning_events', 'rewards', 'discovery_jobs'])
      expect(after.json[part], part).toEqual({ items: [], next_cursor: null });
    const mine = await call('/v1/me/export', { headers: auth });
    expect(mine.json).toMatchObject({ user: null, interests: [], learning_events: { items: [] } });
    const rewrite = await call('/v1/me/interests', {
      method: 'PUT',
      headers: auth,
      json: { interests: [{ interest_id: HIKING, affinity: 1 }] },
    });
    expect(rewrite.status).toBe(409);
    expect((await db.query('SELECT 1 FROM auth.users WHERE id = $1', [user])).length).toBe(0);
  });
});

describe('DELETE /admin/users/{id} and GET /admin/erasures/{id}', () => {
  it('needs the service key and a reason, and records the operator without the user', async () => {
    const user = crypto.randomUUID();
    const asUser = { authorization: `Bearer ${await userToken(crypto.randomUUID())}` };
    expect((await call(`/admin/users/${user}`, { method: 'DELETE', headers: asUser, json: { reason: 'x' } })).status).toBe(403);
    const noReason = await call(`/admin/users/${user}`, { method: 'DELETE', headers: serviceHeaders(), json: { reason: ' ' } });
    expect(noReason.status).toBe(400);
    expect(envelope(noReason.json).details.issues[0].path).toBe('reason');
    expect((await call('/admin/users/not-a-uuid', { method: 'DELETE', headers: serviceHeaders(), json: { reason: 'r' } })).status).toBe(
      400,
    );

    const res = await call(`/admin/users/${user.toUpperCase()}`, {
      method: 'DELETE',
      headers: { ...serviceHeaders(), 'x-actor': 'privacy-desk' },
      json: { reason: 'GDPR Art. 17 request #4711' },
    });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({
      created: true,
      status: 'complete',
      requested_by: 'privacy-desk',
      reason: 'GDPR Art. 17 request #4711',
    });
    const [row] = await db.query('SELECT actor, reason, target, new_value, metadata FROM public.ai_action_ledger WHERE target = $1', [
      `erasure:${res.json.erasure_id}`,
    ]);
    expect(row).toMatchObject({ actor: 'privacy-desk', reason: 'GDPR Art. 17 request #4711' });
    expect(JSON.stringify(row)).not.toContain(user);

    expect((await call(`/admin/erasures/${crypto.randomUUID()}`, { headers: serviceHeaders() })).status).toBe(404);
    expect((await call('/admin/erasures/nope', { headers: serviceHeaders() })).status).toBe(400);
  });

  it('a store that fails stays pending with its error, and the per-minute sweep completes it', async () => {
    // A private database: other test files' per-minute crons run their own sweep on the shared one.
    const user = crypto.randomUUID();
    await fresh.db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    await env.FEATURES.put(FEATURE_KEYS.user(user), JSON.stringify({ user_id: user, interests: [] }));
    // KV is down for this request only: FEATURES.delete throws.
    const kvDown = new Proxy(env.FEATURES, {
      get(target, prop) {
        if (prop === 'delete') return async () => Promise.reject(new Error('KV unavailable'));
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}/admin/users/${user}`, {
        method: 'DELETE',
        headers: { ...serviceHeaders(), 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'ticket 1' }),
      }),
      { ...fresh.env, FEATURES: kvDown } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const body = (await res.json()) as any;
    expect(res.status).toBe(202);
    expect(body).toMatchObject({
      status: 'pending',
      stores: { tombstone: { done: true }, postgres: { done: true }, kv: { done: false }, limiter: { done: true } },
    });
    expect(body.last_error).toContain('KV unavailable');
    // The pending record holds the id (the sweep needs it); nothing else does.
    expect(await rowsMentioning(fresh.db, user)).toEqual(['public.user_erasures.user_id: 1']);
    expect(await env.FEATURES.get(FEATURE_KEYS.user(user))).not.toBeNull();

    await worker.scheduled(
      createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }),
      fresh.env,
      createExecutionContext(),
    );
    const done = await fresh.fetch(`/admin/erasures/${body.erasure_id}`);
    expect(done.json).toMatchObject({ status: 'complete', stores: { kv: { done: true } }, last_error: null, attempts: 2 });
    expect(await env.FEATURES.get(FEATURE_KEYS.user(user))).toBeNull();
    expect(await rowsMentioning(fresh.db, user)).toEqual([]);
  });
});
