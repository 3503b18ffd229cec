// marketplace.suggest off → suggestions are empty with a reason. The flag is set in this file's KV
// (isolated per test file: the edge copy the flag store reads first), never in the shared database.
import { env } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import { newUser } from './discovery-support';
import { call, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());

describe('GET /v1/me/suggestions with marketplace.suggest off', () => {
  it('answers an empty list with the reason, without querying suggestions', async () => {
    await env.FLAGS.put('marketplace.suggest', JSON.stringify({ enabled: false }));
    const user = await newUser(db);
    await db.query(
      `INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, '11111111-1111-1111-1111-111111111111', 0.9)`,
      [user],
    );
    const res = await call('/v1/me/suggestions', { headers: await userHeaders(user) });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ suggestions: [], reason: 'suggestions_disabled' });
  });
});

describe('OpenAPI', () => {
  it('documents every discovery route with its security scheme', async () => {
    const { json } = await call('/openapi.json');
    const expected: [string, string, string][] = [
      ['/v1/me/interests', 'get', 'bearerJwt'],
      ['/v1/me/interests', 'put', 'bearerJwt'],
      ['/v1/me/signals', 'post', 'bearerJwt'],
      ['/v1/me/suggestions', 'get', 'bearerJwt'],
      ['/functions/v1/queue-worker', 'post', 'serviceKey'],
      ['/functions/v1/rocker-discovery-run', 'post', 'serviceKey'],
      ['/admin/dlq', 'get', 'serviceKey'],
      ['/admin/dlq/redrive', 'post', 'serviceKey'],
      ['/admin/dlq/purge', 'post', 'serviceKey'],
    ];
    for (const [path, method, scheme] of expected) {
      expect(json.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ [scheme]: [] }]);
    }
  });
});
