// GET /v1/flags?details=true: per flag the value with its variant and OpenFeature reason, recorded
// where the value is decided (the load and the rollout), driven through the real Worker with the
// stored values an operator can really leave behind (SQL rows, KV puts, rollouts).
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { invalidateFlagCache, resetFlagCache } from '../../src/flags';
import { bucket } from '../../src/flags/rollout';
import { useFlagsWorld } from './flags-support';
import { envelope, serviceHeaders, userHeaders } from './support';

const w = useFlagsWorld();

const put = (key: string, value: unknown) => w.fetch(`/admin/flags/${key}`, { method: 'PUT', headers: serviceHeaders(), json: { value } });
const get = async (query: string, user?: string) => {
  const res = await w.fetch(`/v1/flags${query}`, { headers: user ? await userHeaders(user) : {} });
  expect(res.status).toBe(200);
  return res.json;
};

describe('GET /v1/flags?details=true', () => {
  it('without details (or details=false) the answer is the flags alone, as before', async () => {
    for (const q of ['', '?details=false']) {
      const body = await get(q);
      expect(Object.keys(body)).toEqual(['flags']);
      expect(body.flags['global.safe_mode']).toEqual({ enabled: false });
    }
  });

  it('stored values without rollout are STATIC, with on/off or the policy version as variant', async () => {
    const body = await get('?details=true');
    expect(body.details).toEqual({
      'crush_mode.enabled': { value: { enabled: false }, variant: 'off', reason: 'STATIC' },
      'global.safe_mode': { value: { enabled: false }, variant: 'off', reason: 'STATIC' },
      'learning.enabled': { value: { enabled: true }, variant: 'on', reason: 'STATIC' },
      'marketplace.suggest': { value: { enabled: true }, variant: 'on', reason: 'STATIC' },
      'ranker.policy': { value: { version: 'epsilon_greedy_v1', epsilon: 0.08 }, variant: 'epsilon_greedy_v1', reason: 'STATIC' },
    });
    // The values are those of `flags`, for every flag.
    for (const [k, d] of Object.entries(body.details)) expect((d as { value: unknown }).value).toEqual(body.flags[k]);
  });

  it("a rollout is TARGETING_MATCH for everyone: the user's bucket picks the variant, anonymous callers get the base", async () => {
    expect((await put('global.safe_mode', { enabled: false, rollout: { percent: 50, value: { enabled: true } } })).status).toBe(200);
    const users = Array.from({ length: 40 }, () => crypto.randomUUID());
    const inside = users.find((u) => bucket('global.safe_mode', u) < 50)!;
    const outside = users.find((u) => bucket('global.safe_mode', u) >= 50)!;
    const on = { value: { enabled: true }, variant: 'on', reason: 'TARGETING_MATCH' };
    const off = { value: { enabled: false }, variant: 'off', reason: 'TARGETING_MATCH' };
    expect((await get('?details=true', inside)).details['global.safe_mode']).toEqual(on);
    expect((await get('?details=true', outside)).details['global.safe_mode']).toEqual(off);
    const anon = await get('?details=true');
    expect(anon.details['global.safe_mode']).toEqual(off);
    // The other flags are untouched by this flag's rollout.
    expect(anon.details['learning.enabled'].reason).toBe('STATIC');
  });

  it('a flag stored nowhere is DEFAULT (the registry default)', async () => {
    await w.db.query("DELETE FROM public.feature_flags WHERE key = 'crush_mode.enabled'");
    await env.FLAGS.delete('crush_mode.enabled');
    resetFlagCache();
    const body = await get('?details=true');
    expect(body.details['crush_mode.enabled']).toEqual({ value: { enabled: false }, variant: 'off', reason: 'DEFAULT' });
    expect(body.details['global.safe_mode'].reason).toBe('STATIC');
  });

  it('an unusable stored value is ERROR: PARSE_ERROR when not JSON, TYPE_MISMATCH when it fails the schema; the value is the one in force', async () => {
    // Seen once as {enabled: false}: that is the last good value the isolate keeps serving.
    expect((await put('learning.enabled', { enabled: false })).status).toBe(200);
    expect((await get('?details=true')).details['learning.enabled']).toMatchObject({ value: { enabled: false }, reason: 'STATIC' });
    await env.FLAGS.put('learning.enabled', '{enabled: true');
    await env.FLAGS.put('marketplace.suggest', '{"enabled": "yes"}');
    invalidateFlagCache(); // the isolate reads KV again, keeping its last good values
    const body = await get('?details=true');
    expect(body.details['learning.enabled']).toEqual({
      value: { enabled: false },
      variant: 'off',
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
      errorMessage: 'the value in kv is not JSON',
    });
    expect(body.details['marketplace.suggest']).toMatchObject({
      value: { enabled: true },
      variant: 'on',
      reason: 'ERROR',
      errorCode: 'TYPE_MISMATCH',
    });
    expect(body.details['marketplace.suggest'].errorMessage).toMatch(/^the value in kv does not match the flag's schema \(enabled: /);
    expect(body.flags['learning.enabled']).toEqual({ enabled: false });
    // A cold isolate has no last good value: the registry default, still reported as ERROR.
    resetFlagCache();
    expect((await get('?details=true')).details['learning.enabled']).toMatchObject({
      value: { enabled: true },
      reason: 'ERROR',
      errorCode: 'PARSE_ERROR',
    });
  });

  it('is documented in the served OpenAPI document: the query, the detail schema, an example', async () => {
    const doc = (await w.fetch('/openapi.json')).json;
    const op = doc.paths['/v1/flags'].get;
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ name: 'details', in: 'query', schema: expect.objectContaining({ enum: ['true', 'false'] }) }),
    );
    const detail = doc.components.schemas.FlagEvaluationDetail;
    expect(detail.properties.reason.enum).toEqual(['STATIC', 'TARGETING_MATCH', 'DEFAULT', 'ERROR']);
    expect(detail.properties.errorCode.enum).toEqual(['PARSE_ERROR', 'TYPE_MISMATCH', 'FLAG_NOT_FOUND', 'GENERAL']);
    const example = doc.components.schemas.EvaluatedFlags.properties.details.example;
    expect(example['ranker.policy']).toEqual({
      value: { version: 'epsilon_greedy_v1', epsilon: 0.08 },
      variant: 'epsilon_greedy_v1',
      reason: 'STATIC',
    });
  });

  it('rejects a details value other than true/false with the 400 envelope', async () => {
    const res = await w.fetch('/v1/flags?details=yes');
    expect(res.status).toBe(400);
    expect(envelope(res.json).code).toBe('invalid_request');
  });
});
