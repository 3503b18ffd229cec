// POST /v1/rank: input bounds, the slate and its propensities, learning events through the real
// EVENTS queue, and pools from KV FEATURES after hydrate-features.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchRoutes } from '../../bench/worker/baseline';
import { createApp, RESOURCES } from '../../src/app';
import { FEATURE_KEYS } from '../../src/learning/feature-keys';
import { loadRankFeatures } from '../../src/learning/features-store';
import { createLogger } from '../../src/observability/logger';
import { setRankFlags, waitFor } from './learning-support';
import { BASE, call, envelope, serviceHeaders, testDb, userHeaders, withJsonBody } from './support';

const db = testDb();
afterAll(() => db.end());
beforeAll(async () => {
  await setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0.5 } });
  // The logged context keys reach this file's KV (issue 22: only allowlisted keys are logged).
  expect((await call('/admin/context-keys/sync', { method: 'POST', headers: serviceHeaders() })).status).toBe(200);
});

const cands = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `cand-${i}`, score: i / n }));

async function rankAs(user: string, body: unknown, path = '/v1/rank') {
  return call(path, { method: 'POST', headers: await userHeaders(user), json: body });
}

describe('input', () => {
  it('requires a user token', async () => {
    const res = await call('/v1/rank', { method: 'POST', json: { surface: 'feed' } });
    expect(res.status).toBe(401);
    expect(envelope(res.json).code).toBe('unauthorized');
  });

  it.each([
    ['no surface', { limit: 3 }, 'surface'],
    ['bad surface', { surface: 'a b' }, 'surface'],
    ['limit 0', { surface: 'feed', limit: 0 }, 'limit'],
    ['limit past the bound', { surface: 'feed', limit: 101 }, 'limit'],
    ['fractional limit', { surface: 'feed', limit: 2.5 }, 'limit'],
    ['too many candidates', { surface: 'feed', candidates: cands(1001) }, 'candidates'],
    ['empty candidates', { surface: 'feed', candidates: [] }, 'candidates'],
    ['duplicate candidate ids', { surface: 'feed', candidates: [{ id: 'x' }, { id: 'x' }] }, 'candidates'],
    ['candidate id too long', { surface: 'feed', candidates: [{ id: 'x'.repeat(129) }] }, 'candidates.0.id'],
    ['score not a number', { surface: 'feed', candidates: [{ id: 'x', score: 'high' }] }, 'candidates.0.score'],
    ['context too large', { surface: 'feed', context: { blob: 'x'.repeat(2100) } }, 'context'],
  ])('400 for %s', async (_name, body, field) => {
    const res = await rankAs(crypto.randomUUID(), body);
    expect(res.status).toBe(400);
    const err = envelope(res.json);
    expect(err.details.issues.map((i: { path: string }) => i.path)).toContain(field);
  });
});

describe("ranking the caller's candidates", () => {
  it('returns a slate with exact propensities and queues one learning event per item', async () => {
    const user = crypto.randomUUID();
    const surface = `rank-${crypto.randomUUID()}`;
    const res = await rankAs(user, { surface, limit: 5, candidates: cands(20), context: { page: 'home', locale: 'en-GB' } });
    expect(res.status).toBe(200);
    const body = res.json;
    expect(body).toMatchObject({ policy: 'epsilon_greedy_v1', epsilon: 0.5, safe_mode: false, fallback: null, logged: true });
    expect(body.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.slate.map((s: { position: number }) => s.position)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(body.slate.map((s: { candidate_id: string }) => s.candidate_id)).size).toBe(5);
    body.slate.forEach((s: { p_exp: number }, k: number) => {
      // Either the greedy choice (1−ε + ε/|R|) or an explored non-greedy one (ε/|R|).
      const m = 20 - k;
      expect([0.5 + 0.5 / m, 0.5 / m].some((p) => Math.abs(p - s.p_exp) < 1e-12)).toBe(true);
    });
    const rows = await waitFor(async () => {
      const r = await db.query<{
        candidate_id: string;
        position: number;
        p_exp: number;
        explored: boolean;
        score: number;
        context: unknown;
        user_id: string;
        policy: string;
      }>(
        'SELECT candidate_id, position, p_exp, explored, score, context, user_id::text, policy FROM public.learning_events WHERE decision_id = $1 ORDER BY position',
        [body.decision_id],
      );
      return r.length === 5 && r;
    }, 'learning events of the decision');
    expect(
      rows.map((r) => ({ candidate_id: r.candidate_id, position: r.position, score: r.score, explored: r.explored, p_exp: r.p_exp })),
    ).toEqual(body.slate);
    expect(rows.every((r) => r.user_id === user && r.policy === 'epsilon_greedy_v1')).toBe(true);
    // Issue 22: only the surface's allowlisted keys are logged (default: locale, platform, app_version).
    expect(rows[0]!.context).toEqual({ locale: 'en-GB' });
  });

  it('the benchmark baseline is not part of the production API; bench/worker mounts it behind the same gate', async () => {
    const headers = await userHeaders(crypto.randomUUID());
    expect((await call('/v1/rank/ping', { headers })).status).toBe(404);
    expect((await call('/v1/__bench/ping', { headers })).status).toBe(404);
    const bench = createApp([...RESOURCES, benchRoutes]);
    const user = crypto.randomUUID();
    const benchCall = async (init: RequestInit & { json?: unknown }) => {
      const ctx = createExecutionContext();
      const res = await bench.request(`${BASE}/v1/__bench/ping`, withJsonBody(init), env, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    expect((await benchCall({})).status).toBe(401);
    expect(await (await benchCall({ headers: await userHeaders(user) })).json()).toEqual({ id: user });
    expect(await (await benchCall({ method: 'POST', headers: await userHeaders(user), json: { surface: 'ignored' } })).json()).toEqual({
      id: user,
    });
  });

  it("the guide's alias /functions/v1/policy-ranker answers the same way", async () => {
    const res = await rankAs(crypto.randomUUID(), { surface: 'feed', limit: 3, candidates: cands(3) }, '/functions/v1/policy-ranker');
    expect(res.status).toBe(200);
    expect(res.json.slate).toHaveLength(3);
  });

  it('a limit above the candidate count serves every candidate once', async () => {
    const res = await rankAs(crypto.randomUUID(), { surface: 'feed', limit: 50, candidates: cands(4) });
    expect(res.json.slate.map((s: { candidate_id: string }) => s.candidate_id).sort()).toEqual(['cand-0', 'cand-1', 'cand-2', 'cand-3']);
  });
});

describe('ranking the hydrated pools', () => {
  it("uses the catalog pools and the caller's interest pools from KV when no candidates are sent", async () => {
    const user = crypto.randomUUID();
    const interest = crypto.randomUUID();
    const category = crypto.randomUUID();
    const cand = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    await db.query('INSERT INTO public.interest_catalog (id, name) VALUES ($1, $2)', [interest, `i-${interest}`]);
    await db.query('INSERT INTO public.marketplace_categories (id, name) VALUES ($1, $2)', [category, `c-${category}`]);
    await db.query('INSERT INTO public.marketplace_interest_map (interest_id, category_id) VALUES ($1, $2)', [interest, category]);
    // A low catalog score keeps it out of the global top-50: only the interest pool can bring it.
    await db.query('INSERT INTO public.marketplace_candidates (id, category_id, title, score) VALUES ($1, $2, $3, 0.001)', [
      cand,
      category,
      'niche',
    ]);
    await db.query('INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 1)', [user, interest]);

    // Other test files hydrate too (and drain the shared dirty-user list into their own KV):
    // re-mark the user until this file's KV has the user's document.
    await waitFor(async () => {
      await db.query('INSERT INTO public.feature_dirty_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING', [user]);
      const res = await call('/functions/v1/hydrate-features', { method: 'POST', headers: serviceHeaders() });
      expect(res.status).toBe(200);
      return (await env.FEATURES.get(FEATURE_KEYS.user(user))) !== null;
    }, 'the user document in KV');
    expect(await env.FEATURES.get(FEATURE_KEYS.user(user), 'json')).toEqual({ user_id: user, interests: [{ id: interest, affinity: 1 }] });
    expect(await env.FEATURES.get(FEATURE_KEYS.interest(interest), 'json')).toMatchObject({ pool: [cand], priors: { [cand]: 0.001 } });
    const global = (await env.FEATURES.get(FEATURE_KEYS.global, 'json')) as { pools: { global: string[]; recent: string[] } };
    expect(global.pools.global).toContain('d0000000-0000-0000-0000-000000000001');
    expect(global.pools.recent).toContain(cand);

    // The ranker's view for this user includes the interest's pool, with the user's affinity.
    const features = await loadRankFeatures(env.FEATURES, createLogger(), { surface: 'feed', userId: user, pools: true });
    expect(features.interests).toEqual([{ affinity: 1, pool: [cand], priors: new Map([[cand, 0.001]]) }]);

    const res = await rankAs(user, { surface: `pools-${crypto.randomUUID()}`, limit: 100 });
    expect(res.status).toBe(200);
    const ids = res.json.slate.map((s: { candidate_id: string }) => s.candidate_id);
    expect(ids).toContain(cand);
    expect(ids).toContain('d0000000-0000-0000-0000-000000000001');
    expect(new Set(ids).size).toBe(ids.length);
  });
});
