// The EVENTS consumer for learning messages: whole batches in one statement, idempotent
// redelivery, rewards before/after/racing their impressions, and isolation of bad messages.
import { afterAll, describe, expect, it } from 'vitest';
import { deliver, impressions, reward } from './learning-support';
import { call, serviceHeaders, testDb } from './support';

const db = testDb();
afterAll(() => db.end());

const cands = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ id, score: 1 - i / 10 }));

async function rows(decisionId: string) {
  return db.query<{
    candidate_id: string;
    position: number;
    p_exp: number;
    explored: boolean;
    reward: number | null;
    user_id: string;
    p_prefix: number;
    n_remaining: number;
  }>(
    'SELECT candidate_id, position, p_exp, explored, reward, user_id::text, p_prefix, n_remaining FROM public.learning_events WHERE decision_id = $1 ORDER BY position',
    [decisionId],
  );
}

async function pending(decisionId: string) {
  return db.query<{ candidate_id: string; applied_at: Date | null }>(
    'SELECT candidate_id, applied_at FROM public.learning_rewards WHERE decision_id = $1 ORDER BY candidate_id',
    [decisionId],
  );
}

describe('learning.impressions', () => {
  it('inserts one row per slate item with the logged propensities; redelivery adds nothing', async () => {
    const surface = `ingest-${crypto.randomUUID()}`;
    const user = crypto.randomUUID();
    const msgs = [1, 2, 3].map(() => impressions({ surface, cands, limit: 3, epsilon: 0.4, userId: user }));
    const ids = msgs.map(() => crypto.randomUUID());
    const first = await deliver(msgs, ids);
    expect(first.explicitAcks.sort()).toEqual([...ids].sort());
    const count = async () =>
      Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM public.learning_events WHERE surface = $1', [surface]))[0]!.n);
    expect(await count()).toBe(9);
    for (const m of msgs) {
      const got = await rows(m.decision_id);
      expect(got.map((r) => [r.candidate_id, r.position, r.p_exp, r.explored, r.p_prefix, r.n_remaining, r.user_id])).toEqual(
        m.events.map((e) => [e.candidate_id, e.position, e.p_exp, e.explored, e.p_prefix, e.n_remaining, user]),
      );
    }
    const again = await deliver(msgs, ids);
    expect(again.explicitAcks).toHaveLength(3);
    await deliver([msgs[1]]);
    expect(await count()).toBe(9);
  });

  it('stores any candidate id and context exactly (quotes, backslashes, braces, NULL, unicode)', async () => {
    const surface = `ingest-${crypto.randomUUID()}`;
    const odd = [
      { id: 'a"b\\c', score: 0.5 },
      { id: '{x,y}', score: 0.4 },
      { id: 'NULL', score: 0.3 },
      { id: 'ünï ✓ 🚀', score: 0.2 },
    ];
    const m = { ...impressions({ surface, cands: odd, limit: 4, epsilon: 0 }), context: { q: 'it\'s "quoted" \\ {}', n: [1, null] } };
    await deliver([m]);
    const got = await db.query<{ candidate_id: string; context: unknown }>(
      'SELECT candidate_id, context FROM public.learning_events WHERE decision_id = $1 ORDER BY position',
      [m.decision_id],
    );
    expect(got.map((r) => r.candidate_id)).toEqual(odd.map((c) => c.id));
    expect(got[0]!.context).toEqual(m.context);
  });

  it('a message Postgres rejects does not hold back the rest of its batch', async () => {
    const surface = `ingest-${crypto.randomUUID()}`;
    const good = impressions({ surface, cands, limit: 2, epsilon: 0.1 });
    const bad = impressions({ surface, cands: [{ id: 'nul\u0000byte', score: 1 }], limit: 1, epsilon: 0.1 });
    const result = await deliver([good, bad], [`good-${crypto.randomUUID()}`, `bad-${crypto.randomUUID()}`]);
    expect(result.explicitAcks.filter((id: string) => id.startsWith('good-'))).toHaveLength(1);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId.slice(0, 4))).toEqual(['bad-']);
    expect(await rows(good.decision_id)).toHaveLength(2);
  });
});

describe('learning.reward', () => {
  it('lands on an impression that is already there; the first reward wins and redelivery changes nothing', async () => {
    const user = crypto.randomUUID();
    const m = impressions({ surface: 's', cands, limit: 2, epsilon: 0, userId: user });
    await deliver([m]);
    const r1 = reward(m.decision_id, 'a', user, 1);
    await deliver([r1]);
    await deliver([r1, reward(m.decision_id, 'a', user, 0.25)]);
    expect((await rows(m.decision_id)).map((r) => r.reward)).toEqual([1, null]);
    expect((await pending(m.decision_id))[0]!.applied_at).not.toBeNull();
  });

  it('arriving before its impression waits, and is merged when the impression lands', async () => {
    const user = crypto.randomUUID();
    const m = impressions({ surface: 's', cands, limit: 2, epsilon: 0, userId: user });
    await deliver([reward(m.decision_id, 'b', user, 0.7)]);
    expect(await pending(m.decision_id)).toEqual([{ candidate_id: 'b', applied_at: null }]);
    await deliver([m]);
    expect((await rows(m.decision_id)).map((r) => [r.candidate_id, r.reward])).toEqual([
      ['a', null],
      ['b', 0.7],
    ]);
    expect((await pending(m.decision_id))[0]!.applied_at).not.toBeNull();
    // Redelivering the impression now changes nothing.
    await deliver([m]);
    expect((await rows(m.decision_id)).map((r) => r.reward)).toEqual([null, 0.7]);
  });

  it("never applies one user's reward to another user's impression", async () => {
    const owner = crypto.randomUUID();
    const m = impressions({ surface: 's', cands, limit: 1, epsilon: 0, userId: owner });
    await deliver([m]);
    await deliver([reward(m.decision_id, 'a', crypto.randomUUID(), 1)]);
    expect((await rows(m.decision_id))[0]!.reward).toBeNull();
  });

  it('a reward that raced its impression (both in flight) is merged by the rollup sweep', async () => {
    const user = crypto.randomUUID();
    const decision = crypto.randomUUID();
    // The race's outcome: the reward is parked, the impression committed without seeing it.
    await db.query(`INSERT INTO public.learning_rewards (decision_id, candidate_id, user_id, reward) VALUES ($1, 'race', $2, 0.9)`, [
      decision,
      user,
    ]);
    await db.query(
      `INSERT INTO public.learning_events (decision_id, position, candidate_id, user_id, surface, policy, p_exp)
       VALUES ($1, 0, 'race', $2, 's', 'epsilon_greedy_v1', 1)`,
      [decision, user],
    );
    expect((await rows(decision))[0]!.reward).toBeNull();
    const res = await call('/admin/policy/rollup', { method: 'POST', headers: serviceHeaders() });
    expect(res.status).toBe(200);
    expect(res.json.merged_rewards).toBeGreaterThanOrEqual(1);
    expect((await rows(decision))[0]!.reward).toBe(0.9);
    expect((await pending(decision))[0]!.applied_at).not.toBeNull();
  });
});
