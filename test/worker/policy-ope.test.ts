// GET /admin/policy/ope: service key only, bounded inputs, and the SQL estimates equal the pure
// estimators (src/ranker/ope.ts) on the same logged data.
import { afterAll, describe, expect, it } from 'vitest';
import { addDecision, defaultTargets, emptySums, estimatesFromSums, type OpeItem } from '../../src/ranker';
import { deliver, impressions, reward } from './learning-support';
import { call, envelope, serviceHeaders, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());

describe('GET /admin/policy/ope', () => {
  it('401 without credentials, 403 for a user token, 400 for bad parameters', async () => {
    expect((await call('/admin/policy/ope')).status).toBe(401);
    const asUser = await call('/admin/policy/ope', { headers: await userHeaders(crypto.randomUUID()) });
    expect(asUser.status).toBe(403);
    for (const q of ['days=0', 'days=91', 'epsilons=2', 'epsilons=0.1,abc', 'clip=0', 'surface=a%20b']) {
      const res = await call(`/admin/policy/ope?${q}`, { headers: serviceHeaders() });
      expect(res.status, q).toBe(400);
      expect(envelope(res.json).code).toBe('invalid_request');
    }
  });

  it('matches the pure estimators on the same decisions, for every target', async () => {
    const surface = `ope-${crypto.randomUUID()}`;
    const user = crypto.randomUUID();
    const cands = Array.from({ length: 8 }, (_, i) => ({ id: `k${i}`, score: (8 - i) / 10 }));
    const rate = (id: string) => [0.3, 0.1, 0.5, 0.2, 0.05, 0.4, 0.1, 0.25][Number(id.slice(1))]!;
    const msgs = Array.from({ length: 120 }, () => impressions({ surface, cands, limit: 3, epsilon: 0.3, userId: user }));
    // Deterministic "rewards": a hash of the decision id against the candidate's rate.
    const rewarded = msgs.flatMap((m) =>
      m.events
        .filter((e) => parseInt(m.decision_id.slice(0, 4), 16) / 65536 < rate(e.candidate_id))
        .map((e) => reward(m.decision_id, e.candidate_id, user, 1)),
    );
    for (let i = 0; i < msgs.length; i += 50) await deliver(msgs.slice(i, i + 50));
    for (let i = 0; i < rewarded.length; i += 50) await deliver(rewarded.slice(i, i + 50));

    const res = await call(`/admin/policy/ope?surface=${surface}&epsilons=0.1,0.6&clip=5`, { headers: serviceHeaders() });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ policy: 'epsilon_greedy_v1', surface, days: 7, clip: 5 });
    expect(res.json.logged).toMatchObject({ decisions: 120, impressions: 360, rewarded: rewarded.length, without_propensity: 0 });

    const rewardSet = new Set(rewarded.map((r) => `${r.decision_id}/${r.candidate_id}`));
    const targets = defaultTargets([0.1, 0.6]);
    expect(res.json.targets.map((t: { name: string }) => t.name)).toEqual(targets.map((t) => t.name));
    for (const t of targets) {
      const sums = emptySums();
      for (const m of msgs) {
        const items: OpeItem[] = m.events.map((e) => ({
          position: e.position,
          p_exp: e.p_exp,
          is_greedy: e.is_greedy!,
          n_remaining: e.n_remaining!,
          reward: rewardSet.has(`${m.decision_id}/${e.candidate_id}`) ? 1 : 0,
          q_hat: e.score!,
          q_greedy: e.q_greedy!,
          q_mean: e.q_mean!,
        }));
        addDecision(sums, items, t, 5);
      }
      const want = estimatesFromSums(sums);
      const got = res.json.targets.find((x: { name: string }) => x.name === t.name);
      expect(got.epsilon).toBe(t.epsilon);
      expect(got.decisions).toBe(120);
      expect(got.clipped).toBe(want.clipped);
      for (const k of ['ips', 'snips', 'dr'] as const) {
        for (const f of ['estimate', 'se', 'ci_low', 'ci_high'] as const) {
          expect(got[k][f], `${t.name} ${k}.${f}`).toBeCloseTo(want[k][f]!, 9);
        }
      }
      expect(got.ess).toBeCloseTo(want.ess!, 6);
    }
    // The logging policy's IPS is its own mean reward per impression.
    const logged = res.json.targets.find((x: { name: string }) => x.name === 'logged');
    expect(logged.ips.estimate).toBeCloseTo(rewarded.length / 360, 12);
    // Uniform is far from a 0.3-greedy logger: some of its weights exceed the cap of 5.
    const uniform = res.json.targets.find((x: { name: string }) => x.name === 'uniform');
    expect(uniform.clipped).toBeGreaterThan(0);
    expect(uniform.ess).toBeLessThan(360);
    expect(res.json.targets.find((x: { name: string }) => x.name === 'greedy').clipped).toBe(0);
  });
});
