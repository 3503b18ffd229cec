// The typed client (clients/typescript, issue 15) inside workerd: the same code a Worker would bundle
// calls the real app (its `fetch` option hands each Request to createApp().fetch with the test env),
// so typed calls, the error envelope as EdgeApiError and the Retry-After handling are checked against
// the API's real answers, and the package is shown to need nothing but the web platform.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEdgeClient, EdgeApiError, type EdgeClientOptions } from '../../clients/typescript/src/index';
import { createApp } from '../../src/app';
import { resetLimitsCache, syncLimits } from '../../src/ratelimit/config';
import { resetPermits } from '../../src/ratelimit/permits';
import { setRankFlags } from './learning-support';
import { BASE, testDb, userToken } from './support';

const db = testDb();
const app = createApp();
afterAll(() => db.end());
beforeAll(() => setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0.1 } }));
afterEach(() => resetPermits());

/** Every request the client sends, and the statuses it got back. */
function clientFor(options: Omit<EdgeClientOptions, 'baseUrl' | 'fetch'> = {}) {
  const seen: { method: string; path: string; auth: string | null; status: number }[] = [];
  const edge = createEdgeClient({
    baseUrl: BASE,
    ...options,
    fetch: async (request) => {
      const ctx = createExecutionContext();
      const auth = request.headers.get('authorization');
      const res = await app.fetch(request, env, ctx);
      await waitOnExecutionContext(ctx);
      seen.push({ method: request.method, path: new URL(request.url).pathname, auth, status: res.status });
      return res;
    },
  });
  return { edge, seen };
}

describe('typed calls', () => {
  it('ranks and rewards as a user, resolving with the 2xx bodies', async () => {
    const user = crypto.randomUUID();
    let tokens = 0;
    const getToken = async () => {
      tokens++;
      return userToken(user);
    };
    const { edge, seen } = clientFor({ getToken });
    const ranked = await edge.POST('/v1/rank', {
      body: { surface: 'feed', limit: 2, candidates: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] },
    });
    expect(ranked.slate).toHaveLength(2);
    expect(ranked.safe_mode).toBe(false);
    const reward = await edge.POST('/v1/rewards', {
      body: { decision_id: ranked.decision_id, candidate_id: ranked.slate[0]!.candidate_id, reward: 1 },
    });
    expect(reward).toEqual({ accepted: true });
    expect(tokens).toBe(2); // getToken runs for every request
    expect(seen.map((s) => [s.method, s.path, s.status])).toEqual([
      ['POST', '/v1/rank', 200],
      ['POST', '/v1/rewards', 202],
    ]);
    expect(seen.every((s) => s.auth?.startsWith('Bearer ey'))).toBe(true);
  });

  it('calls public routes without a token', async () => {
    const { edge, seen } = clientFor();
    const health = await edge.GET('/health');
    expect(['ok', 'error']).toContain(health.status);
    expect(seen[0]!.auth).toBeNull();
  });
});

describe('errors', () => {
  it('rejects with EdgeApiError carrying the envelope: 401 without a token', async () => {
    const { edge } = clientFor();
    const err = await edge.POST('/v1/rank', { body: { surface: 'feed' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeApiError);
    const e = err as EdgeApiError;
    expect([e.status, e.code]).toEqual([401, 'unauthorized']);
    expect(e.message).toMatch(/\S/);
    expect(e.request_id).toMatch(/\S/);
  });

  it('a 400 keeps the zod issues in details', async () => {
    const { edge } = clientFor({ token: await userToken(crypto.randomUUID()) });
    const err = (await edge.POST('/v1/rank', { body: { surface: 'feed', limit: 0 } }).catch((e: unknown) => e)) as EdgeApiError;
    expect(err).toBeInstanceOf(EdgeApiError);
    expect(err.status).toBe(400);
    expect(JSON.stringify(err.details)).toContain('limit');
  });

  it('raw keeps openapi-fetch’s { data, error, response } and never throws on a status', async () => {
    const { edge } = clientFor();
    const { data, error, response } = await edge.raw.POST('/v1/rank', { body: { surface: 'feed' } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(401);
    expect(error?.error.code).toBe('unauthorized');
  });
});

describe('Retry-After', () => {
  /** A user allowed 1 request per 2 s window, pushed to the edge as the cron does. */
  async function limitedUser() {
    const id = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [id]);
    await db.query(`INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, 1, 2)`, [id]);
    await syncLimits(env, db);
    resetLimitsCache();
    return userToken(id);
  }

  it('off by default: a 429 rejects with code rate_limited and retryAfter', async () => {
    const { edge, seen } = clientFor({ token: await limitedUser() });
    await edge.GET('/v1/me/interests');
    const err = (await edge.GET('/v1/me/interests').catch((e: unknown) => e)) as EdgeApiError;
    expect(err).toBeInstanceOf(EdgeApiError);
    expect([err.status, err.code]).toEqual([429, 'rate_limited']);
    expect(err.retryAfter).toBeGreaterThan(0);
    expect(seen.map((s) => s.status)).toEqual([200, 429]);
  });

  it('retryOn429 waits out Retry-After and succeeds', async () => {
    const { edge, seen } = clientFor({ token: await limitedUser(), retryOn429: { maxAttempts: 3, maxWaitMs: 5_000 } });
    await edge.GET('/v1/me/interests');
    const started = Date.now();
    await edge.GET('/v1/me/interests');
    expect(seen[1]!.status).toBe(429);
    expect(seen.at(-1)!.status).toBe(200);
    expect(seen.length).toBeLessThanOrEqual(4);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // it waited (Retry-After ≥ 1 s)
  }, 20_000);

  it('bounded: a Retry-After beyond maxWaitMs is answered at once with the error', async () => {
    const { edge, seen } = clientFor({ token: await limitedUser(), retryOn429: { maxAttempts: 5, maxWaitMs: 100 } });
    await edge.GET('/v1/me/interests');
    const err = (await edge.GET('/v1/me/interests').catch((e: unknown) => e)) as EdgeApiError;
    expect(err.status).toBe(429);
    expect(seen.map((s) => s.status)).toEqual([200, 429]);
  });
});
