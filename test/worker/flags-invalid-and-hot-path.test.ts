// Invalid values in KV and in Postgres never crash a request (last good value or default, an
// error log), and the request path makes zero Postgres queries while KV holds the flags.
import { env } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { MEMORY_TTL_MS, resetFlagCache } from '../../src/flags';
import { useFlagsWorld, WORKER_APP } from './flags-support';
import { serviceHeaders, userHeaders } from './support';

const w = useFlagsWorld(async (world) => {
  // Count every connection the Worker opens to this database (PostgreSQL 17 login event
  // trigger). The Worker opens its per-request connection lazily, on its first query, so zero
  // logins in a window means zero queries in it.
  await world.db.pool.query(`
    CREATE TABLE public.test_worker_logins (id bigint GENERATED ALWAYS AS IDENTITY, app text);
    CREATE FUNCTION public.test_count_login() RETURNS event_trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.test_worker_logins (app) VALUES (current_setting('application_name'));
    END $$;
    CREATE EVENT TRIGGER test_count_login ON login EXECUTE FUNCTION public.test_count_login();`);
});

const workerLogins = async () => {
  const [row] = await w.db.query<{ n: string }>('SELECT count(*) AS n FROM public.test_worker_logins WHERE app = $1', [WORKER_APP]);
  return Number(row!.n);
};
const nextWindow = () => vi.setSystemTime(Date.now() + MEMORY_TTL_MS + 1);
const flags = async (headers: Record<string, string> = {}) => {
  const res = await w.fetch('/v1/flags', { headers });
  expect(res.status).toBe(200);
  return res.json.flags;
};
const errorLogs = () => {
  const spy = vi.spyOn(console, 'error');
  return () => spy.mock.calls.map((c) => JSON.parse(String(c[0]))).filter((l) => l.msg === 'flags.invalid_value');
};

describe('zero Postgres queries on the request path while KV holds the flags', () => {
  it('counts connections: none for anonymous and user requests, cold and warm isolate', async () => {
    const user = await userHeaders(crypto.randomUUID());
    const before = await workerLogins();
    for (let i = 0; i < 5; i++) {
      resetFlagCache(); // cold isolate: memory empty, KV read
      await flags();
      await flags(user);
      nextWindow(); // expired memory: KV read again
      await flags(user);
    }
    const evaluated = await w.fetch('/admin/flags/evaluate?repeat=50', { headers: serviceHeaders() });
    expect(evaluated.json.db_queries).toBe(0);
    expect(await workerLogins()).toBe(before);
  });

  it('the counter works: with KV empty, the request falls back to Postgres (one connection)', async () => {
    await w.db.query("UPDATE public.feature_flags SET value = '{\"enabled\": true}'::jsonb WHERE key = 'global.safe_mode'");
    await env.FLAGS.delete('global.safe_mode');
    resetFlagCache();
    const before = await workerLogins();
    expect((await flags())['global.safe_mode']).toEqual({ enabled: true }); // from Postgres
    expect(await workerLogins()).toBe(before + 1);
    const evaluated = await w.fetch('/admin/flags/evaluate', { headers: serviceHeaders() });
    expect(evaluated.json.evaluated.sources['global.safe_mode']).toBe('db');
  });
});

describe('invalid values in KV', () => {
  it.each([
    ['a value failing its schema', '{"enabled":"yes"}'],
    ['text that is not JSON', 'enabled'],
    ['a broken rollout', '{"enabled":false,"rollout":{"percent":5,"value":{"enabled":"maybe"}}}'],
  ])('%s: the last good value is served, an error logged; the sync repairs KV and records it', async (_label, text) => {
    // The last good value differs from the built-in default ({"enabled": true}).
    await w.db.query("UPDATE public.feature_flags SET value = '{\"enabled\": false}'::jsonb WHERE key = 'learning.enabled'");
    await w.cron();
    const since = await w.lastLedgerId();
    nextWindow();
    expect((await flags())['learning.enabled']).toEqual({ enabled: false }); // seen, so remembered
    await env.FLAGS.put('learning.enabled', text);
    const logs = errorLogs();
    nextWindow();
    expect((await flags())['learning.enabled']).toEqual({ enabled: false });
    expect(logs()).toEqual([expect.objectContaining({ key: 'learning.enabled', source: 'kv' })]);

    await w.cron();
    expect(await env.FLAGS.get('learning.enabled', 'json')).toEqual({ enabled: false });
    const rows = await w.ledger('learning.enabled', since);
    expect(rows.map((r) => [r.actor, r.action])).toEqual([['kv', 'flag.rejected']]);
    const [row] = await w.db.query<{ value: unknown }>("SELECT value FROM public.feature_flags WHERE key = 'learning.enabled'");
    expect(row!.value).toEqual({ enabled: false });
  });

  it('a cold isolate with an invalid KV value uses the built-in default', async () => {
    await env.FLAGS.put('marketplace.suggest', '{"enabled":1}');
    resetFlagCache();
    const logs = errorLogs();
    expect((await flags())['marketplace.suggest']).toEqual({ enabled: true }); // flagDefaults
    expect(logs()).toHaveLength(1);
  });
});

describe('invalid values in Postgres', () => {
  it('are never pushed to KV: the edge keeps the last good value; recorded once, logged each sync', async () => {
    const since = await w.lastLedgerId();
    await w.db.query('UPDATE public.feature_flags SET value = \'{"enabled": "sometimes"}\'::jsonb WHERE key = \'global.safe_mode\'');
    await w.cron();
    await w.cron();
    expect(await env.FLAGS.get('global.safe_mode', 'json')).toEqual({ enabled: false });
    nextWindow();
    expect((await flags())['global.safe_mode']).toEqual({ enabled: false });
    const rows = await w.ledger('global.safe_mode', since);
    // The statement is recorded when it is made (the feature_flags trigger, migration 0730), the
    // rejection once by the sync, however many syncs see the invalid value.
    expect(rows.map((r) => [r.actor, r.action, r.new_value])).toEqual([
      ['sql', 'flag.set', { enabled: 'sometimes' }],
      ['sql', 'flag.rejected', { enabled: 'sometimes' }],
    ]);
    const list = await w.fetch('/admin/flags', { headers: serviceHeaders() });
    expect(list.json.flags.find((f: any) => f.key === 'global.safe_mode')).toMatchObject({
      valid: false,
      kv: { value: { enabled: false }, valid: true },
    });

    // Fixed in SQL: an ordinary change again.
    await w.db.query("UPDATE public.feature_flags SET value = '{\"enabled\": true}'::jsonb WHERE key = 'global.safe_mode'");
    await w.cron();
    nextWindow();
    expect((await flags())['global.safe_mode']).toEqual({ enabled: true });
    expect((await w.ledger('global.safe_mode', since)).slice(2).map((r) => [r.actor, r.action, r.old_value, r.new_value])).toEqual([
      ['sql', 'flag.set', { enabled: 'sometimes' }, { enabled: true }],
    ]);
  });

  it('read on the request path (KV empty): default or last good, an error log, still 200', async () => {
    await w.db.query("UPDATE public.feature_flags SET value = '[1,2]'::jsonb WHERE key = 'ranker.policy'");
    await env.FLAGS.delete('ranker.policy');
    resetFlagCache();
    const logs = errorLogs();
    expect((await flags())['ranker.policy']).toEqual({ version: 'epsilon_greedy_v1', epsilon: 0.08 });
    expect(logs()).toEqual([expect.objectContaining({ key: 'ranker.policy', source: 'db' })]);
  });
});
