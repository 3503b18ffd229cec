// The bounds of issue 12 one by one, through the real routes, the EVENTS consumer and the */5
// cron: reward ranges (the edge's 400 naming the range; the consumer's rejection, recorded and
// counted, on every path a reward takes to its impression), the per-user-day cap, rewards only
// from the user the decision was served to, candidate registration through the admin route, and
// the reward rate-limit class.
import { env } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncLimits } from '../../src/ratelimit/config';
import { declarationFor } from './gate-support';
import { candidateStats, eventsLanded, rankAs, register, rewardAs, rewardOk, rewardsLanded, rollUp, surfaceDoc } from './influence-support';
import { deliver, impressions, reward, setRankFlags, waitFor } from './learning-support';
import { call, envelope, serviceHeaders, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());
beforeAll(() => setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0 } }));

const surfaceName = (p: string) => `${p}-${crypto.randomUUID()}`;

async function setRange(surface: string, min: number, max: number) {
  const res = await call(`/admin/reward-ranges/${surface}`, {
    method: 'PUT',
    headers: serviceHeaders(),
    json: { min_reward: min, max_reward: max },
  });
  expect(res.status).toBe(200);
  return res.json;
}

async function rejectedMetric(surface: string) {
  const [r] = await db.query<{ n: number }>(
    `SELECT coalesce(sum(value), 0)::int AS n FROM public.gauge_metrics_minute WHERE metric = 'learning.rewards_rejected' AND subject = $1`,
    [surface],
  );
  return r!.n;
}

async function rewardRows(decisionId: string) {
  return db.query<{
    candidate_id: string;
    reward: number;
    applied_at: Date | null;
    rejected_at: Date | null;
    surface: string | null;
    rejection: string | null;
  }>(
    'SELECT candidate_id, reward, applied_at, rejected_at, surface, rejection FROM public.learning_rewards WHERE decision_id = $1 ORDER BY candidate_id',
    [decisionId],
  );
}

async function eventRewards(decisionId: string) {
  return (
    await db.query<{ candidate_id: string; reward: number | null }>(
      'SELECT candidate_id, reward FROM public.learning_events WHERE decision_id = $1 ORDER BY position',
      [decisionId],
    )
  ).map((r) => [r.candidate_id, r.reward]);
}

describe('reward ranges at the edge', () => {
  const wide = surfaceName('wide');
  beforeAll(() => setRange(wide, 0, 5));

  it('outside the default range: 400 naming the range and that it is the default', async () => {
    for (const [body, text] of [
      [{ reward: 1.5 }, 'send "surface"'],
      [{ reward: -0.1, surface: surfaceName('plain') }, 'has no range of its own'],
    ] as const) {
      const res = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', ...body });
      expect(res.status).toBe(400);
      const err = envelope(res.json);
      expect(err.code).toBe('bad_request');
      expect(err.message).toContain('[0, 1]');
      expect(err.message).toContain('default reward range');
      expect(err.message).toContain(text);
      expect(err.details.range).toMatchObject({ min: 0, max: 1, source: 'default' });
    }
  });

  it("a surface's own range applies when the request names the surface", async () => {
    const ok = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 4, surface: wide });
    expect(ok.status).toBe(202);
    const res = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 5.5, surface: wide });
    expect(res.status).toBe(400);
    expect(envelope(res.json).message).toBe(`reward 5.5 is outside [0, 5] (the reward range of surface "${wide}")`);
    expect(res.json.error.details.range).toEqual({ min: 0, max: 5, source: 'surface', surface: wide });
    // Without the surface, the same reward is checked against the default.
    const bare = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 4 });
    expect(bare.status).toBe(400);
    expect(envelope(bare.json).message).toContain('[0, 1]');
  });

  it('the hard bound and the surface name are validated like any field', async () => {
    for (const body of [{ reward: 2e6 }, { reward: 1, surface: 'no spaces' }]) {
      const res = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', ...body });
      expect(res.status).toBe(400);
      expect(envelope(res.json).code).toBe('invalid_request');
    }
  });
});

describe('reward ranges in the consumer (authoritative: the decision’s real surface)', () => {
  const wide = surfaceName('wide');
  beforeAll(() => setRange(wide, 0, 5));

  it('a reward that names a wider surface than its decision’s is accepted by the edge, then rejected, recorded and counted', async () => {
    const narrow = surfaceName('narrow');
    const user = crypto.randomUUID();
    const d = await rankAs(user, { surface: narrow, limit: 2, candidates: [{ id: 'a' }, { id: 'b' }] });
    await eventsLanded(db, [d.decision_id], 2);
    await rewardOk(user, { decision_id: d.decision_id, candidate_id: 'a', reward: 4, surface: wide });
    await rewardOk(user, { decision_id: d.decision_id, candidate_id: 'b', reward: 1, surface: narrow });
    await rewardsLanded(db, [d.decision_id], 2);
    expect(await eventRewards(d.decision_id)).toEqual([
      ['a', null],
      ['b', 1],
    ]);
    const [a, b] = await rewardRows(d.decision_id);
    expect(a).toMatchObject({ candidate_id: 'a', reward: 4, applied_at: null, surface: narrow });
    expect(a!.rejected_at).not.toBeNull();
    expect(a!.rejection).toBe(`reward 4 is outside [0, 1], the reward range of surface ${narrow}`);
    expect(b).toMatchObject({ candidate_id: 'b', rejected_at: null, rejection: null });
    expect(await rejectedMetric(narrow)).toBe(1);

    // Redelivering the rejected reward neither applies nor counts it again.
    await deliver([reward(d.decision_id, 'a', user, 4)]);
    expect(await eventRewards(d.decision_id)).toEqual([
      ['a', null],
      ['b', 1],
    ]);
    expect(await rejectedMetric(narrow)).toBe(1);
  });

  it('a reward that arrived before its impression is checked when the impression lands', async () => {
    const surface = surfaceName('parked');
    const user = crypto.randomUUID();
    const m = impressions({
      surface,
      cands: [
        { id: 'a', score: 1 },
        { id: 'b', score: 0 },
      ],
      limit: 2,
      epsilon: 0,
      userId: user,
    });
    await deliver([reward(m.decision_id, 'a', user, 3), reward(m.decision_id, 'b', user, 0.5)]);
    expect((await rewardRows(m.decision_id)).map((r) => [r.candidate_id, r.applied_at, r.rejected_at])).toEqual([
      ['a', null, null],
      ['b', null, null],
    ]);
    await deliver([m]);
    expect(await eventRewards(m.decision_id)).toEqual([
      ['a', null],
      ['b', 0.5],
    ]);
    const [a] = await rewardRows(m.decision_id);
    expect(a!.rejected_at).not.toBeNull();
    expect(a!.rejection).toContain('[0, 1]');
    expect(await rejectedMetric(surface)).toBe(1);
  });

  it('a reward that raced its impression is checked by the rollup sweep', async () => {
    const surface = surfaceName('raced');
    const user = crypto.randomUUID();
    const decision = crypto.randomUUID();
    // The race's outcome: the reward is parked, the impression committed without seeing it.
    await db.query(`INSERT INTO public.learning_rewards (decision_id, candidate_id, user_id, reward) VALUES ($1, 'race', $2, 7)`, [
      decision,
      user,
    ]);
    await db.query(
      `INSERT INTO public.learning_events (decision_id, position, candidate_id, user_id, surface, policy, p_exp)
       VALUES ($1, 0, 'race', $2, $3, 'epsilon_greedy_v1', 1)`,
      [decision, user, surface],
    );
    const res = await call('/admin/policy/rollup', { method: 'POST', headers: serviceHeaders() });
    expect(res.status).toBe(200);
    expect(res.json.rejected_rewards).toBeGreaterThanOrEqual(1);
    expect(await eventRewards(decision)).toEqual([['race', null]]);
    const [r] = await rewardRows(decision);
    expect(r).toMatchObject({ applied_at: null, surface });
    expect(r!.rejection).toBe(`reward 7 is outside [0, 1], the reward range of surface ${surface}`);
    expect(await rejectedMetric(surface)).toBe(1);
  });
});

describe('one user, one candidate, one day: one impression and one reward', () => {
  it('counts a user once per candidate and UTC day, whatever they send', async () => {
    const surface = surfaceName('capped');
    await register(surface, ['p', 'q']);
    const cands = [
      { id: 'p', score: 1 },
      { id: 'q', score: 0 },
    ];
    const user = crypto.randomUUID();
    const now = new Date();
    const yesterday = new Date(now.getTime() - 86_400_000).toISOString();
    const at = (ts: string) => ({ ...impressions({ surface, cands, limit: 2, epsilon: 0, userId: user }), ts });
    // Today: three decisions, a reward on each for p (1, 1, then 0); yesterday: one, reward 0.5.
    const today = [at(now.toISOString()), at(now.toISOString()), at(now.toISOString())];
    const before = at(yesterday);
    const other = crypto.randomUUID();
    const others = { ...impressions({ surface, cands, limit: 2, epsilon: 0, userId: other }), ts: now.toISOString() };
    await deliver([...today, before, others]);
    await deliver([
      reward(today[0]!.decision_id, 'p', user, 1),
      reward(today[1]!.decision_id, 'p', user, 1),
      reward(today[2]!.decision_id, 'p', user, 0),
      reward(today[2]!.decision_id, 'q', user, 1),
      reward(before.decision_id, 'p', user, 0.5),
      reward(others.decision_id, 'p', other, 0),
    ]);
    const all = [...today, before, others].map((m) => m.decision_id);
    await rollUp(db, all);
    // p: user today (1 impression, the first reward 1), user yesterday (1, 0.5), other today (1, 0).
    // q: user today (1 impression, its reward 1), user yesterday (1), other today (1).
    expect(await candidateStats(db, surface)).toEqual([
      ['p', 3, 3, 1.5],
      ['q', 3, 1, 1],
    ]);
    const days = await db.query<{ candidate_id: string; n: number }>(
      `SELECT candidate_id, count(*)::int AS n FROM public.learning_candidate_user_days WHERE surface = $1 GROUP BY candidate_id ORDER BY candidate_id`,
      [surface],
    );
    expect(days).toEqual([
      { candidate_id: 'p', n: 3 },
      { candidate_id: 'q', n: 3 },
    ]);
    // Every reward was applied to its own event all the same (the log keeps what happened).
    const [applied] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM public.learning_events WHERE decision_id = ANY($1::uuid[]) AND reward IS NOT NULL',
      [all],
    );
    expect(applied!.n).toBe(6);

    // An operator's correction of the counted reward flows through; of an uncounted one, not.
    await db.query(`UPDATE public.learning_events SET reward = 0.25 WHERE decision_id = $1 AND candidate_id = 'p'`, [
      today[0]!.decision_id,
    ]);
    await db.query(`UPDATE public.learning_events SET reward = 0.75 WHERE decision_id = $1 AND candidate_id = 'p'`, [
      today[1]!.decision_id,
    ]);
    await rollUp(db, all);
    expect(await candidateStats(db, surface)).toEqual([
      ['p', 3, 3, 0.75],
      ['q', 3, 1, 1],
    ]);
  });

  it("a reward from another user than the decision's is not applied and moves nothing", async () => {
    const surface = surfaceName('owner');
    await register(surface, ['p']);
    const owner = crypto.randomUUID();
    const d = await rankAs(owner, { surface, limit: 1, candidates: [{ id: 'p' }] });
    await eventsLanded(db, [d.decision_id], 1);
    const stranger = crypto.randomUUID();
    await rewardOk(stranger, { decision_id: d.decision_id, candidate_id: 'p', reward: 1 });
    await waitFor(
      async () =>
        (await db.query('SELECT 1 FROM public.learning_rewards WHERE decision_id = $1 AND user_id = $2', [d.decision_id, stranger]))
          .length === 1,
      "the stranger's reward in the consumer",
    );
    await rollUp(db, [d.decision_id]);
    expect(await eventRewards(d.decision_id)).toEqual([['p', null]]);
    // The stranger's reward waits for an impression of theirs that does not exist (expired in 7 days).
    expect(await rewardRows(d.decision_id)).toMatchObject([{ candidate_id: 'p', applied_at: null, rejected_at: null }]);
    expect(await candidateStats(db, surface)).toEqual([['p', 1, 0, 0]]);
    // The owner's own reward is applied.
    await rewardOk(owner, { decision_id: d.decision_id, candidate_id: 'p', reward: 1 });
    await rewardsLanded(db, [d.decision_id], 1);
    await rollUp(db, [d.decision_id]);
    expect(await eventRewards(d.decision_id)).toEqual([['p', 1]]);
    expect(await candidateStats(db, surface)).toEqual([['p', 1, 1, 1]]);
  });
});

describe('candidate registration through the admin route', () => {
  it('registers, lists and unregisters with ledger rows; only registered ids enter the shared statistics', async () => {
    const surface = surfaceName('registry');
    const first = await register(surface, ['r1', 'r2', 'r2']);
    expect(first).toEqual({ surface, registered: ['r1', 'r2'], already: [] });
    expect(await register(surface, ['r2'])).toEqual({ surface, registered: [], already: ['r2'] });
    const list = await call(`/admin/surfaces/${surface}/candidates?limit=1`, { headers: serviceHeaders() });
    expect(list.status).toBe(200);
    expect(list.json.candidates.map((c: { candidate_id: string }) => c.candidate_id)).toEqual(['r1']);
    const next = await call(`/admin/surfaces/${surface}/candidates?limit=1&after=${list.json.next}`, { headers: serviceHeaders() });
    expect(next.json.candidates).toMatchObject([{ candidate_id: 'r2', registered_by: 'api:service' }]);
    const ledger = await db.query<{ action: string; actor: string; new_value: unknown }>(
      `SELECT action, actor, new_value FROM public.ai_action_ledger WHERE target = $1 ORDER BY id`,
      [surface],
    );
    expect(ledger).toEqual([{ action: 'surface_candidates.register', actor: 'api:service', new_value: { registered: ['r1', 'r2'] } }]);

    // r1 registered, r3 not: one user ranks both and rewards both.
    const user = crypto.randomUUID();
    const d1 = await rankAs(user, { surface, limit: 2, candidates: [{ id: 'r1' }, { id: 'r3' }] });
    await eventsLanded(db, [d1.decision_id], 2);
    for (const id of ['r1', 'r3']) await rewardOk(user, { decision_id: d1.decision_id, candidate_id: id, reward: 1 });
    await rewardsLanded(db, [d1.decision_id], 2);
    await rollUp(db, [d1.decision_id]);
    expect(await candidateStats(db, surface)).toEqual([['r1', 1, 1, 1]]);
    expect((await surfaceDoc(surface))!.pools.popular).toEqual(['r1']);

    // Registered now, r3 counts from the next rollup on (another user's decision).
    await register(surface, ['r3']);
    const user2 = crypto.randomUUID();
    const d2 = await rankAs(user2, { surface, limit: 1, candidates: [{ id: 'r3' }] });
    await eventsLanded(db, [d2.decision_id], 1);
    await rewardOk(user2, { decision_id: d2.decision_id, candidate_id: 'r3', reward: 1 });
    await rewardsLanded(db, [d2.decision_id], 1);
    await rollUp(db, [d2.decision_id]);
    expect(await candidateStats(db, surface)).toEqual([
      ['r1', 1, 1, 1],
      ['r3', 1, 1, 1],
    ]);

    // Unregistered: out of the published pools and scores at the next hydrate; its statistics stay.
    const un = await call(`/admin/surfaces/${surface}/candidates/unregister`, {
      method: 'POST',
      headers: { ...serviceHeaders(), 'x-actor': 'cli' },
      json: { candidate_ids: ['r1', 'nope'], reason: 'retired' },
    });
    expect(un.status).toBe(200);
    expect(un.json).toEqual({ surface, unregistered: ['r1'], absent: ['nope'] });
    await rollUp(db, []);
    const doc = await surfaceDoc(surface);
    expect(Object.keys(doc!.stats)).toEqual(['r3']);
    expect(doc!.pools).toEqual({ popular: ['r3'], recent: ['r3'] });
    expect(await candidateStats(db, surface)).toHaveLength(2);
    const [last] = await db.query<{ action: string; actor: string; reason: string; old_value: unknown }>(
      `SELECT action, actor, reason, old_value FROM public.ai_action_ledger WHERE target = $1 ORDER BY id DESC LIMIT 1`,
      [surface],
    );
    expect(last).toEqual({
      action: 'surface_candidates.unregister',
      actor: 'cli',
      reason: 'retired',
      old_value: { registered: [{ candidate_id: 'r1', registered_by: 'api:service' }] },
    });
  });

  it('refuses what Postgres could not store, and users', async () => {
    const surface = surfaceName('refuse');
    const nul = await call(`/admin/surfaces/${surface}/candidates`, {
      method: 'POST',
      headers: serviceHeaders(),
      json: { candidate_ids: ['a\u0000b'] },
    });
    expect(nul.status).toBe(400);
    const bad = await call('/admin/surfaces/a%20b/candidates', {
      method: 'POST',
      headers: serviceHeaders(),
      json: { candidate_ids: ['a'] },
    });
    expect(bad.status).toBe(400);
    const user = await call(`/admin/surfaces/${surface}/candidates`, {
      method: 'POST',
      headers: await userHeaders(crypto.randomUUID()),
      json: { candidate_ids: ['a'] },
    });
    expect(user.status).toBe(403);
    expect(await db.query('SELECT 1 FROM public.surface_candidates WHERE surface = $1', [surface])).toEqual([]);
  });
});

describe('the reward rate-limit class', () => {
  it('POST /v1/rewards spends its own per-user budget, apart from ranking', async () => {
    expect(declarationFor('POST', '/v1/rewards')).toMatchObject({ limitClass: 'reward', access: 'user', failOpen: true });
    const user = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    await db.query(`INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('reward', $1, 2, 60)`, [
      user,
    ]);
    await syncLimits(env, db);
    const body = { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 1 };
    expect((await rewardAs(user, body)).status).toBe(202);
    expect((await rewardAs(user, body)).status).toBe(202);
    const denied = await rewardAs(user, body);
    expect(denied.status).toBe(429);
    expect(denied.res.headers.get('RateLimit-Policy')).toBe('2;w=60');
    // Ranking (class 'user') is untouched by the reward budget.
    await rankAs(user, { surface: 'feed', limit: 1, candidates: [{ id: 'x' }] });
  });
});
