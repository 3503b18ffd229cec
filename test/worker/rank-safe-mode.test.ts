// Safe mode at the route (guide §3): flags set in this file's KV before any request, so the flag
// store's caches never hold another value. Deterministic slates, p_exp 0, explored false, and
// impressions still logged under the policy name 'safe_mode' (no propensities).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setRankFlags, waitFor } from './learning-support';
import { call, serviceHeaders, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());
beforeAll(() => setRankFlags({ safeMode: true, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0.5 } }));

async function rank(body: unknown) {
  return call('/v1/rank', { method: 'POST', headers: await userHeaders(crypto.randomUUID()), json: body });
}

describe('safe mode', () => {
  it("orders the caller's candidates by their own score, identically for every decision", async () => {
    const candidates = [
      { id: 'low', score: 0.1 },
      { id: 'top', score: 0.9 },
      { id: 'mid', score: 0.5 },
      { id: 'mid2', score: 0.5 },
    ];
    const slates = [];
    for (let i = 0; i < 5; i++) {
      const res = await rank({ surface: 'feed', limit: 3, candidates });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ policy: 'safe_mode', epsilon: 0, safe_mode: true, fallback: 'safe_mode' });
      slates.push(res.json.slate);
    }
    for (const slate of slates) {
      expect(slate).toEqual([
        { candidate_id: 'top', position: 0, score: 0.9, explored: false, p_exp: 0 },
        { candidate_id: 'mid', position: 1, score: 0.5, explored: false, p_exp: 0 },
        { candidate_id: 'mid2', position: 2, score: 0.5, explored: false, p_exp: 0 },
      ]);
    }
  });

  it('serves the popular + recent + global pools deterministically when no candidates are sent', async () => {
    const hydrated = await call('/functions/v1/hydrate-features', { method: 'POST', headers: serviceHeaders() });
    expect(hydrated.status).toBe(200);
    const a = await rank({ surface: 'feed', limit: 5 });
    const b = await rank({ surface: 'feed', limit: 5 });
    expect(a.json.slate).toHaveLength(5);
    expect(b.json.slate).toEqual(a.json.slate);
    expect(a.json.slate.every((s: { p_exp: number; explored: boolean }) => s.p_exp === 0 && !s.explored)).toBe(true);
  });

  it('logs impressions without propensities', async () => {
    const res = await rank({
      surface: `safe-${crypto.randomUUID()}`,
      limit: 2,
      candidates: [
        { id: 'x', score: 1 },
        { id: 'y', score: 0 },
      ],
    });
    const rows = await waitFor(async () => {
      const r = await db.query<{ policy: string; p_exp: number; explored: boolean; p_prefix: number | null; n_remaining: number | null }>(
        'SELECT policy, p_exp, explored, p_prefix, n_remaining FROM public.learning_events WHERE decision_id = $1',
        [res.json.decision_id],
      );
      return r.length === 2 && r;
    }, 'safe-mode impressions');
    expect(
      rows.every((r) => r.policy === 'safe_mode' && r.p_exp === 0 && !r.explored && r.p_prefix === null && r.n_remaining === null),
    ).toBe(true);
  });
});
