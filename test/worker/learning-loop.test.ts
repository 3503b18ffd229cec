// The loop end to end: events and rewards → the */5 cron (rollup, then hydrate-features) →
// learned estimates in KV → the ranker's exploit order follows the rewards. Plus the rollup's
// incrementality and vw_policy_health staying exact before and after rollups.
import { env } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_KEYS } from '../../src/learning/feature-keys';
import { deliver, impressions, reward, runCron, setRankFlags, waitFor } from './learning-support';
import { call, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());
beforeAll(() => setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0 } }));

async function candidateStats(surface: string) {
  return db.query<{ candidate_id: string; impressions: string; rewarded: string; reward_sum: number }>(
    'SELECT candidate_id, impressions, rewarded, reward_sum FROM public.learning_candidate_stats WHERE surface = $1 ORDER BY candidate_id',
    [surface],
  );
}

describe('learning loop', () => {
  it('rewards change the exploit order after one cron cycle', async () => {
    const surface = `loop-${crypto.randomUUID()}`;
    const cands = [
      { id: 'a', score: 0 },
      { id: 'b', score: 0 },
      { id: 'c', score: 0 },
    ];
    // Shared statistics take known candidates only, and one impression and one reward per user,
    // candidate and day (issue 12): the ids are registered for the surface, and every decision
    // below is a different user's.
    await db.query(`INSERT INTO public.surface_candidates (surface, candidate_id, registered_by) SELECT $1, unnest($2::text[]), 'test'`, [
      surface,
      cands.map((c) => c.id),
    ]);
    const rankNow = async () =>
      (
        await call('/v1/rank', {
          method: 'POST',
          headers: await userHeaders(crypto.randomUUID()),
          json: { surface, limit: 3, candidates: cands },
        })
      ).json;

    // Nothing learned yet: equal scores, ties by id. This decision is logged too (11 in all).
    const first = await rankNow();
    expect(first.slate.map((s: { candidate_id: string }) => s.candidate_id)).toEqual(['a', 'b', 'c']);
    await waitFor(
      async () => (await db.query('SELECT 1 FROM public.learning_events WHERE decision_id = $1', [first.decision_id])).length === 3,
      "the first decision's events",
    );

    const msgs = Array.from({ length: 10 }, () => impressions({ surface, cands, limit: 3, epsilon: 0, userId: crypto.randomUUID() }));
    await deliver(msgs);
    await deliver(msgs.map((m) => reward(m.decision_id, 'c', m.user_id!, 1)));
    await deliver(msgs.slice(0, 4).map((m) => reward(m.decision_id, 'b', m.user_id!, 0.5)));

    // The rollup only takes transactions older than every running one: repeat until it has.
    await waitFor(async () => {
      await runCron();
      const stats = await candidateStats(surface);
      return stats.length === 3 && stats.every((s) => Number(s.impressions) === 11) && stats;
    }, 'the rollup of this surface');
    const stats = (await candidateStats(surface)).map((s) => [s.candidate_id, Number(s.impressions), Number(s.rewarded), s.reward_sum]);
    expect(stats).toEqual([
      ['a', 11, 0, 0],
      ['b', 11, 4, 2],
      ['c', 11, 10, 10],
    ]);

    const doc = (await env.FEATURES.get(FEATURE_KEYS.surface(surface), 'json')) as {
      stats: Record<string, [number, number]>;
      pools: { popular: string[] };
    };
    expect(doc.stats).toMatchObject({ a: [11, 0], b: [11, 2], c: [11, 10] });
    expect(doc.pools.popular).toEqual(['c', 'b']);

    const learned = await rankNow();
    expect(learned.slate.map((s: { candidate_id: string }) => s.candidate_id)).toEqual(['c', 'b', 'a']);
    // estimate = (reward sum + 10 · prior 0) / (impressions + 10)
    expect(learned.slate[0]).toMatchObject({ p_exp: 1, explored: false });
    expect(learned.slate[0].score).toBeCloseTo(10 / 21, 12);
    expect(learned.slate[1].score).toBeCloseTo(2 / 21, 12);
    // That decision's events land too; wait, so the next cycle's counts are known.
    await waitFor(
      async () => (await db.query('SELECT 1 FROM public.learning_events WHERE decision_id = $1', [learned.decision_id])).length === 3,
      "the second decision's events",
    );
    await waitFor(async () => {
      await runCron();
      return (await candidateStats(surface)).every((s) => Number(s.impressions) === 12);
    }, 'the rollup of the second decision');
    for (const s of stats) s[1] = 12;

    // Incremental: another cycle adds nothing that was already counted.
    await runCron();
    expect((await candidateStats(surface)).map((s) => [s.candidate_id, Number(s.impressions), Number(s.rewarded), s.reward_sum])).toEqual(
      stats,
    );
  });

  it('vw_policy_health is the same before and after rollups, and counts late rewards once', async () => {
    const policy = `loop_policy_${crypto.randomUUID().slice(0, 8)}`;
    const user = crypto.randomUUID();
    const cands = ['p', 'q', 'r', 's'].map((id, i) => ({ id, score: 1 - i / 4 }));
    const msgs = Array.from({ length: 6 }, () => impressions({ surface: 'health', cands, limit: 2, epsilon: 0.5, userId: user, policy }));
    await deliver(msgs);
    await deliver(msgs.map((m) => reward(m.decision_id, m.events[0]!.candidate_id, user, 1)));

    // Expected from the messages themselves.
    const items = msgs.flatMap((m) => m.events);
    const w = items.map((e) => (e.greedy_prefix ? 1 / e.p_prefix! : 0));
    const wr = msgs.reduce((s, m) => s + (m.events[0]!.greedy_prefix ? 1 / m.events[0]!.p_prefix! : 0), 0);
    const expected = {
      decisions: '6',
      impressions: '12',
      rewarded: '6',
      exploration_rate: (items.filter((e) => e.explored).length / 12).toFixed(4),
      mean_reward: '1.0000',
      reward_per_impression: '0.5000',
      mean_p_exp: (items.reduce((s, e) => s + e.p_exp, 0) / 12).toFixed(4),
      ips_greedy: (wr / 12).toFixed(4),
      snips_greedy: (wr / w.reduce((a, b) => a + b, 0)).toFixed(4),
      ess_greedy: (w.reduce((a, b) => a + b, 0) ** 2 / w.reduce((a, b) => a + b * b, 0)).toFixed(1),
      epsilon: null,
    };
    const view = async () => (await db.query('SELECT * FROM public.vw_policy_health WHERE policy = $1', [policy]))[0];
    const before = await view();
    expect(before).toMatchObject(expected);
    expect(before!.last_event_at).not.toBeNull();

    await waitFor(async () => {
      await runCron();
      const [r] = await db.query<{ n: string }>(
        'SELECT coalesce(sum(impressions), 0) AS n FROM public.learning_policy_daily WHERE policy = $1',
        [policy],
      );
      return Number(r!.n) === 12;
    }, 'the rollup of this policy');
    expect(await view()).toEqual(before);

    // An operator corrects a reward in SQL after the rollup: counted once, as the change.
    const first = msgs[0]!;
    await db.query('UPDATE public.learning_events SET reward = 0 WHERE decision_id = $1 AND candidate_id = $2', [
      first.decision_id,
      first.events[0]!.candidate_id,
    ]);
    const corrected = await view();
    expect(corrected).toMatchObject({ rewarded: '6', mean_reward: (5 / 6).toFixed(4) });
    await runCron();
    expect(await view()).toEqual(corrected);
  });
});
