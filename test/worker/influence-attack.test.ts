// Issue 12's attack, through the real routes, the EVENTS queue and the */5 cron: one user ranks a
// made-up candidate id three times with `candidates`, posts the maximum reward for it each time,
// and one cron run later every other user's pool-based slate is what it was. Variants: many users
// created by one attacker (each within their limits), and a known catalog id rewarded 1,000 times
// by one user, which moves its estimate exactly as much as one honest reward.
//
// The comparison is against a control surface with the same honest history and no attack, read at
// the same moment (the catalog pools in every slate come from the shared catalog, which other test
// files may change between two hydrates; a control read together with the attacked surface is not
// affected by that), and against the attacked surface's own published statistics before the attack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  candidateStats,
  eventsLanded,
  poolSlate,
  rankAs,
  register,
  rewardAs,
  rewardOk,
  rewardsLanded,
  rollUp,
  surfaceDoc,
} from './influence-support';
import { deliver, impressions, reward, setRankFlags } from './learning-support';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());
beforeAll(() => setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0 } }));

const KNOWN = ['item-a', 'item-b', 'item-c', 'item-d'];
/** A seeded catalog id: known on every surface without registration. */
const CATALOG_ID = 'd0000000-0000-0000-0000-000000000001';

/** The same honest history on each surface: four users, each ranking the known items once and rewarding some. */
async function honestHistory(surfaces: string[]) {
  const decisions: string[] = [];
  for (const [u, rewards] of [['item-a', 'item-b'], ['item-a'], ['item-b', 'item-c'], ['item-a']].entries()) {
    const user = crypto.randomUUID();
    for (const surface of surfaces) {
      const d = await rankAs(user, { surface, limit: 4, candidates: KNOWN.map((id) => ({ id, score: 0.1 })) });
      decisions.push(d.decision_id);
      for (const id of rewards) await rewardOk(user, { decision_id: d.decision_id, candidate_id: id, reward: u % 2 ? 1 : 0.5, surface });
    }
  }
  await eventsLanded(db, decisions, decisions.length * 4);
  return decisions;
}

describe('a made-up id ranked and rewarded by one user, then by many users of one attacker', () => {
  const attacked = `attacked-${crypto.randomUUID()}`;
  const control = `control-${crypto.randomUUID()}`;
  // Two users who read these surfaces before the attack (their own impressions counted once).
  const victims = [crypto.randomUUID(), crypto.randomUUID()];
  let before: Awaited<ReturnType<typeof surfaceDoc>>;

  beforeAll(async () => {
    for (const s of [attacked, control]) await register(s, KNOWN);
    const honest = await honestHistory([attacked, control]);
    await rewardsLanded(db, honest, 12);
    await rollUp(db, honest);
    const warm = [];
    for (const v of victims) for (const surface of [attacked, control]) warm.push(await rankAs(v, { surface, limit: 100 }));
    const items = warm.reduce((n, d) => n + d.slate.length, 0);
    expect(items).toBeGreaterThanOrEqual(4 * KNOWN.length);
    await eventsLanded(
      db,
      warm.map((d) => d.decision_id),
      items,
    );
    await rollUp(
      db,
      warm.map((d) => d.decision_id),
    );
    before = await surfaceDoc(attacked);
  }, 120_000);

  it('the honest history is published the same way on both surfaces', async () => {
    expect(before).not.toBeNull();
    expect(before!.pools.popular).toEqual(['item-a', 'item-b', 'item-c']);
    expect(await surfaceDoc(control)).toEqual(before);
    for (const v of victims) expect(await poolSlate(v, attacked)).toEqual(await poolSlate(v, control));
  });

  it.each([
    ['one user', 1],
    ['five users created by one attacker, each within their limits', 5],
  ])(
    '%s: every other slate and every published statistic stay as they were',
    async (_name, users) => {
      const madeUp = `zz-made-up-${crypto.randomUUID()}`;
      const decisions: string[] = [];
      for (let u = 0; u < users; u++) {
        const attacker = crypto.randomUUID();
        for (let i = 0; i < 3; i++) {
          const d = await rankAs(attacker, { surface: attacked, limit: 1, candidates: [{ id: madeUp, score: 1e6 }] });
          // Unknown ids are still ranked for the request that sent them...
          expect(d.slate.map((s) => s.candidate_id)).toEqual([madeUp]);
          decisions.push(d.decision_id);
          // ...the reward of 1000 is outside the range: 400, naming it...
          const huge = await rewardAs(attacker, { decision_id: d.decision_id, candidate_id: madeUp, reward: 1000 });
          expect(huge.status).toBe(400);
          expect(huge.json.error.message).toContain('[0, 1]');
          // ...and the maximum the range allows is accepted.
          await rewardOk(attacker, { decision_id: d.decision_id, candidate_id: madeUp, reward: 1, surface: attacked });
        }
      }
      await eventsLanded(db, decisions, decisions.length);
      await rewardsLanded(db, decisions, decisions.length);
      await rollUp(db, decisions);

      // Logged, rewards applied to the attacker's own events: nothing was dropped...
      const logged = await db.query<{ reward: number }>('SELECT reward FROM public.learning_events WHERE decision_id = ANY($1::uuid[])', [
        decisions,
      ]);
      expect(logged.map((r) => r.reward)).toEqual(decisions.map(() => 1));
      // ...but the made-up id is in no shared statistic and no published pool.
      expect(await db.query('SELECT 1 FROM public.learning_candidate_stats WHERE candidate_id = $1', [madeUp])).toEqual([]);
      expect(await surfaceDoc(attacked)).toEqual(before);
      for (const v of victims) {
        const slate = await poolSlate(v, attacked);
        expect(slate.map((s) => s.candidate_id)).not.toContain(madeUp);
        expect(slate.map((s) => s.candidate_id)).toEqual(expect.arrayContaining(KNOWN.slice(0, 3)));
        expect(slate).toEqual(await poolSlate(v, control));
      }
    },
    120_000,
  );
});

describe('a known catalog id rewarded 1,000 times by one user', () => {
  it('moves its estimate exactly as much as one honest reward does', async () => {
    const attacked = `catalog-attacked-${crypto.randomUUID()}`;
    const control = `catalog-control-${crypto.randomUUID()}`;
    const ts = new Date().toISOString();
    const cands = [{ id: CATALOG_ID, score: 0.5 }];
    // The attacker's 1,000 decisions and rewards, as the rank and reward routes queue them.
    const attacker = crypto.randomUUID();
    const attack = Array.from({ length: 1000 }, () => ({
      ...impressions({ surface: attacked, cands, limit: 1, epsilon: 0, userId: attacker }),
      ts,
    }));
    for (let i = 0; i < attack.length; i += 100) await deliver(attack.slice(i, i + 100));
    for (let i = 0; i < attack.length; i += 100)
      await deliver(attack.slice(i, i + 100).map((m) => reward(m.decision_id, CATALOG_ID, attacker, 1)));
    // The control: one honest user, one decision, one reward of the same value.
    const honest = crypto.randomUUID();
    const one = { ...impressions({ surface: control, cands, limit: 1, epsilon: 0, userId: honest }), ts };
    await deliver([one]);
    await deliver([reward(one.decision_id, CATALOG_ID, honest, 1)]);

    const all = [...attack, one].map((m) => m.decision_id);
    const [applied] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM public.learning_events WHERE decision_id = ANY($1::uuid[]) AND reward = 1',
      [all],
    );
    expect(applied!.n).toBe(1001);
    await rollUp(db, all);

    expect(await candidateStats(db, attacked)).toEqual([[CATALOG_ID, 1, 1, 1]]);
    expect(await candidateStats(db, control)).toEqual([[CATALOG_ID, 1, 1, 1]]);
    expect(await surfaceDoc(attacked)).toEqual({ ...(await surfaceDoc(control)) });
    const victim = crypto.randomUUID();
    expect(await poolSlate(victim, attacked)).toEqual(await poolSlate(victim, control));
  }, 120_000);
});
