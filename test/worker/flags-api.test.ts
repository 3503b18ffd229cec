// The API/CLI path (PUT /admin/flags/:key writes Postgres and KV together), the admin list,
// GET /v1/flags for users and anonymous callers, and the canary by flag (sticky rollouts).
import { env } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { MEMORY_TTL_MS } from '../../src/flags';
import { bucket } from '../../src/flags/rollout';
import { useFlagsWorld } from './flags-support';
import { envelope, serviceHeaders, userHeaders } from './support';

const w = useFlagsWorld();

const put = (key: string, value: unknown, headers: Record<string, string> = serviceHeaders(), reason?: string) =>
  w.fetch(`/admin/flags/${key}`, { method: 'PUT', headers, json: { value, ...(reason ? { reason } : {}) } });
const flagsAs = async (user?: string) => {
  const { status, json } = await w.fetch('/v1/flags', { headers: user ? await userHeaders(user) : {} });
  expect(status).toBe(200);
  return json.flags;
};

describe('API path: PUT /admin/flags/:key', () => {
  it('writes Postgres and KV together, is seen at once by this isolate, records the ledger row', async () => {
    const since = await w.lastLedgerId();
    const res = await put('global.safe_mode', { enabled: true }, serviceHeaders(), 'SLO burn');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      key: 'global.safe_mode',
      old: { enabled: false },
      value: { enabled: true },
      changed: true,
      kv: 'put',
    });
    expect((await flagsAs())['global.safe_mode']).toEqual({ enabled: true });
    const [row] = await w.db.query<{ value: unknown; updated_by: string }>(
      "SELECT value, updated_by FROM public.feature_flags WHERE key = 'global.safe_mode'",
    );
    expect(row).toEqual({ value: { enabled: true }, updated_by: 'api:service' });
    const kv = await env.FLAGS.getWithMetadata('global.safe_mode');
    expect(JSON.parse(kv.value!)).toEqual({ enabled: true });
    expect(kv.metadata).toMatchObject({ rev: res.json.rev, source: 'api' });
    const rows = await w.ledger('global.safe_mode', since);
    expect(rows.map((r) => [r.actor, r.action, r.metadata.path, r.reason, r.old_value, r.new_value])).toEqual([
      ['api:service', 'flag.set', 'api', 'SLO burn', { enabled: false }, { enabled: true }],
    ]);
    // The next sync finds both sides in agreement: nothing more is written.
    await w.cron();
    expect(await w.ledger('global.safe_mode', since)).toHaveLength(1);
  });

  it('the CLI (x-actor: cli, as scripts/lib/api-client.ts sends) is recorded as cli', async () => {
    const since = await w.lastLedgerId();
    const res = await put('learning.enabled', { enabled: false }, { ...serviceHeaders(), 'x-actor': 'cli' });
    expect(res.status).toBe(200);
    const rows = await w.ledger('learning.enabled', since);
    expect(rows.map((r) => [r.actor, r.metadata.path])).toEqual([['cli', 'cli']]);
  });

  it('setting the value already in force changes nothing and writes no ledger row', async () => {
    const since = await w.lastLedgerId();
    const res = await put('global.safe_mode', { enabled: false });
    expect(res.json).toMatchObject({ changed: false });
    expect(await w.ledger('global.safe_mode', since)).toHaveLength(0);
  });

  it('records an unsynced KV flip before superseding it (nothing is lost silently)', async () => {
    const since = await w.lastLedgerId();
    await env.FLAGS.put('global.safe_mode', '{"enabled":true}');
    const res = await put('global.safe_mode', { enabled: true, rollout: { percent: 5, value: { enabled: false } } });
    expect(res.json.old).toEqual({ enabled: true });
    const rows = await w.ledger('global.safe_mode', since);
    expect(rows.map((r) => [r.actor, r.old_value, r.new_value])).toEqual([
      ['kv', { enabled: false }, { enabled: true }],
      ['api:service', { enabled: true }, { enabled: true, rollout: { percent: 5, value: { enabled: false } } }],
    ]);
  });

  it('rejects invalid values (400 with the zod issues), unknown flags (404) and non-service callers', async () => {
    const bad = await put('global.safe_mode', { enabled: 'yes' });
    expect(bad.status).toBe(400);
    expect(envelope(bad.json).details.issues[0].path).toBe('enabled');
    const badRollout = await put('global.safe_mode', { enabled: true, rollout: { percent: 150, value: { enabled: false } } });
    expect(badRollout.status).toBe(400);
    expect((await put('no.such.flag', { enabled: true })).status).toBe(404);
    expect((await w.fetch('/admin/flags/global.safe_mode', { method: 'PUT', json: { value: { enabled: true } } })).status).toBe(401);
    expect((await put('global.safe_mode', { enabled: true }, await userHeaders(crypto.randomUUID()))).status).toBe(403);
    const missing = await w.fetch('/admin/flags/global.safe_mode', { method: 'PUT', headers: serviceHeaders(), json: {} });
    expect(missing.status).toBe(400);
    const [row] = await w.db.query<{ value: unknown }>("SELECT value FROM public.feature_flags WHERE key = 'global.safe_mode'");
    expect(row!.value).toEqual({ enabled: false });
  });
});

describe('GET /admin/flags and POST /admin/flags/sync', () => {
  it('lists every flag with its Postgres value, KV copy and sync state', async () => {
    await w.db.query(`UPDATE public.feature_flags SET value = '{"enabled": true}'::jsonb WHERE key = 'crush_mode.enabled'`);
    const { status, json } = await w.fetch('/admin/flags', { headers: serviceHeaders() });
    expect(status).toBe(200);
    const byKey = Object.fromEntries(json.flags.map((f: any) => [f.key, f]));
    expect(Object.keys(byKey).sort()).toEqual([
      'crush_mode.enabled',
      'global.safe_mode',
      'learning.enabled',
      'marketplace.suggest',
      'ranker.policy',
    ]);
    expect(byKey['global.safe_mode']).toMatchObject({
      value: { enabled: false },
      valid: true,
      kv: { value: { enabled: false }, in_sync: true },
    });
    expect(byKey['crush_mode.enabled']).toMatchObject({ value: { enabled: true }, kv: { value: { enabled: false }, in_sync: false } });

    const sync = await w.fetch('/admin/flags/sync', { method: 'POST', headers: serviceHeaders() });
    expect(sync.status).toBe(200);
    expect(sync.json.flags.find((f: any) => f.key === 'crush_mode.enabled')).toMatchObject({ outcome: 'sql', kv: 'put' });
    const after = await w.fetch('/admin/flags', { headers: serviceHeaders() });
    expect(after.json.flags.find((f: any) => f.key === 'crush_mode.enabled').kv.in_sync).toBe(true);
    expect((await w.fetch('/admin/flags')).status).toBe(401);
  });
});

describe('GET /v1/flags', () => {
  it('answers anonymous callers with the base values, users with theirs; a bad token is a 401', async () => {
    const anon = await flagsAs();
    expect(anon).toEqual({
      'crush_mode.enabled': { enabled: false },
      'global.safe_mode': { enabled: false },
      'learning.enabled': { enabled: true },
      'marketplace.suggest': { enabled: true },
      'ranker.policy': { version: 'epsilon_greedy_v1', epsilon: 0.08 },
    });
    expect(await flagsAs(crypto.randomUUID())).toEqual(anon);
    const bad = await w.fetch('/v1/flags', { headers: { authorization: 'Bearer not-a-jwt' } });
    expect(bad.status).toBe(401);
    expect(envelope(bad.json).code).toBe('unauthorized');
  });
});

describe('canary by flag: sticky percentage rollouts', () => {
  const users = Array.from({ length: 400 }, () => crypto.randomUUID());
  const evaluatedFor = async (user: string) =>
    (await w.fetch(`/admin/flags/evaluate?user_id=${user}`, { headers: serviceHeaders() })).json.evaluated;

  it('safe mode off for 5 % → 25 % → 100 %: exactly the users whose bucket is below, never losing one', async () => {
    let previouslyIn = new Set<string>();
    for (const percent of [5, 25, 100]) {
      const res = await put('global.safe_mode', { enabled: true, rollout: { percent, value: { enabled: false } } });
      expect(res.status).toBe(200);
      const nowIn = new Set<string>();
      for (const user of users) {
        const e = await evaluatedFor(user);
        const inCanary = e.values['global.safe_mode'].enabled === false;
        expect(inCanary).toBe(bucket('global.safe_mode', user) < percent);
        expect(e.rollouts['global.safe_mode']).toEqual({ percent, bucket: bucket('global.safe_mode', user), in: inCanary });
        // Safe mode semantics follow the evaluated value per user.
        expect(e.safeMode).toBe(!inCanary);
        expect(e.policy.epsilon).toBe(inCanary ? 0.08 : 0);
        if (inCanary) nowIn.add(user);
      }
      for (const u of previouslyIn) expect(nowIn.has(u)).toBe(true);
      previouslyIn = nowIn;
    }
    expect(previouslyIn.size).toBe(users.length);
  });

  it("GET /v1/flags applies the caller's bucket; anonymous callers get the base value", async () => {
    await put('ranker.policy', {
      version: 'epsilon_greedy_v1',
      epsilon: 0.08,
      rollout: { percent: 50, value: { version: 'epsilon_greedy_v2' } },
    });
    const inside = users.find((u) => bucket('ranker.policy', u) < 50)!;
    const outside = users.find((u) => bucket('ranker.policy', u) >= 50)!;
    expect((await flagsAs(inside))['ranker.policy']).toEqual({ version: 'epsilon_greedy_v2', epsilon: 0.08 });
    expect((await flagsAs(outside))['ranker.policy']).toEqual({ version: 'epsilon_greedy_v1', epsilon: 0.08 });
    expect((await flagsAs())['ranker.policy']).toEqual({ version: 'epsilon_greedy_v1', epsilon: 0.08 });
  });

  it('a rollout set in SQL reaches the edge through the sync like any other value', async () => {
    await w.db.query(
      `UPDATE public.feature_flags SET value = '{"enabled": true, "rollout": {"percent": 100, "value": {"enabled": false}}}'::jsonb WHERE key = 'crush_mode.enabled'`,
    );
    await w.cron();
    vi.setSystemTime(Date.now() + MEMORY_TTL_MS + 1);
    expect((await flagsAs(crypto.randomUUID()))['crush_mode.enabled']).toEqual({ enabled: false });
    expect((await flagsAs())['crush_mode.enabled']).toEqual({ enabled: true });
  });
});
