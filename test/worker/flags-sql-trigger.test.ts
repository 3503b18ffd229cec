// Every flag change made in SQL is in ai_action_ledger when it happens (the feature_flags trigger
// of migration 0730), with the session's role and application_name — before the first sync, for
// flips within one sync interval — and the sync that later reconciles it adds no second row.
// Our own writers (API, KV adoption, pause switch) still write exactly one row each. Rate limits,
// changed in SQL only, are recorded the same way.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { useFlagsWorld } from './flags-support';
import { serviceHeaders } from './support';

const w = useFlagsWorld();

/** Statements in one transaction on one connection, as an operator's psql session would run them. */
async function session(statements: string[]): Promise<void> {
  const client = await w.db.pool.connect();
  try {
    await client.query('BEGIN');
    for (const s of statements) await client.query(s);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

const SAFE_ON = `UPDATE public.feature_flags SET value = '{"enabled": true}'::jsonb WHERE key = 'global.safe_mode'`;
const SAFE_OFF = `UPDATE public.feature_flags SET value = '{"enabled": false}'::jsonb WHERE key = 'global.safe_mode'`;

describe('the feature_flags trigger', () => {
  it('records an SQL change at once, with the role, the login, the application_name and an optional reason', async () => {
    const since = await w.lastLedgerId();
    await session([
      "SET LOCAL application_name = 'ops-psql'",
      'SET LOCAL ROLE service_role',
      "SET LOCAL app.reason = 'incident 7: abort switch'",
      SAFE_ON,
    ]);
    const rows = await w.ledger('global.safe_mode', since); // no sync has run since
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: 'sql',
      action: 'flag.set',
      old_value: { enabled: false },
      new_value: { enabled: true },
      reason: 'incident 7: abort switch',
      metadata: {
        path: 'sql',
        via: 'trigger',
        role: 'service_role',
        session_user: 'postgres',
        application_name: 'ops-psql',
        updated_by: 'sql:postgres',
      },
    });
  });

  it('before the first sync ever: recorded, and the first sync pushes it to the edge without a second row', async () => {
    await w.reset(); // no merge base, empty KV: a fresh deployment
    const since = await w.lastLedgerId();
    await w.db.query(SAFE_ON);
    expect((await w.ledger('global.safe_mode', since)).map((r) => [r.actor, r.action, r.new_value])).toEqual([
      ['sql', 'flag.set', { enabled: true }],
    ]);
    await w.cron();
    expect(await env.FLAGS.get('global.safe_mode', 'json')).toEqual({ enabled: true });
    await w.cron();
    expect(await w.ledger('global.safe_mode', since)).toHaveLength(1);
  });

  it('two flips within one sync interval: both recorded, the sync adds nothing', async () => {
    const since = await w.lastLedgerId();
    await w.db.query(SAFE_ON);
    await w.db.query(SAFE_OFF);
    await w.cron();
    const rows = await w.ledger('global.safe_mode', since);
    expect(rows.map((r) => [r.action, r.old_value, r.new_value])).toEqual([
      ['flag.set', { enabled: false }, { enabled: true }],
      ['flag.set', { enabled: true }, { enabled: false }],
    ]);
    expect(await env.FLAGS.get('global.safe_mode', 'json')).toEqual({ enabled: false });
  });

  it('a change the sync reconciles is recorded once, however many syncs follow', async () => {
    const since = await w.lastLedgerId();
    await w.db.query(
      `UPDATE public.feature_flags SET value = '{"version":"epsilon_greedy_v1","epsilon":0.05}'::jsonb WHERE key = 'ranker.policy'`,
    );
    await w.cron();
    await w.cron();
    expect(await env.FLAGS.get('ranker.policy', 'json')).toEqual({ version: 'epsilon_greedy_v1', epsilon: 0.05 });
    expect((await w.ledger('ranker.policy', since)).map((r) => [r.actor, r.action, r.metadata.via])).toEqual([
      ['sql', 'flag.set', 'trigger'],
    ]);
  });

  it('a description edit or a no-op UPDATE is not a flag change', async () => {
    const since = await w.lastLedgerId();
    await w.db.query(`UPDATE public.feature_flags SET description = 'edited' WHERE key = 'global.safe_mode'`);
    await w.db.query(`UPDATE public.feature_flags SET value = value WHERE key = 'global.safe_mode'`);
    expect(await w.ledger('global.safe_mode', since)).toEqual([]);
  });

  it('a deleted row is recorded, then restored by the sync from the last synced value', async () => {
    const since = await w.lastLedgerId();
    await w.db.query(`DELETE FROM public.feature_flags WHERE key = 'marketplace.suggest'`);
    await w.cron();
    const rows = await w.ledger('marketplace.suggest', since);
    expect(rows.map((r) => [r.actor, r.action, r.old_value, r.new_value])).toEqual([
      ['sql', 'flag.delete', { enabled: true }, null],
      ['cron:flag-sync', 'flag.restored', null, { enabled: true }],
    ]);
  });

  it('a change the trigger did not record (a session naming itself a writer) is still recorded, by the sync', async () => {
    const since = await w.lastLedgerId();
    await session(["SELECT set_config('app.flag_writer', 'ops-script', true)", SAFE_ON]);
    expect(await w.ledger('global.safe_mode', since)).toEqual([]);
    await w.cron();
    const rows = await w.ledger('global.safe_mode', since);
    expect(rows.map((r) => [r.actor, r.action, r.metadata.path, r.metadata.updated_by, r.metadata.via ?? null])).toEqual([
      ['sql', 'flag.set', 'sql', 'ops-script', null],
    ]);
  });
});

describe('our own writers: one row each, never a trigger row beside it', () => {
  it('API write, KV adoption and the pause switch', async () => {
    const since = await w.lastLedgerId();
    const put = await w.fetch('/admin/flags/global.safe_mode', {
      method: 'PUT',
      headers: serviceHeaders(),
      json: { value: { enabled: true }, reason: 'drill' },
    });
    expect(put.status).toBe(200);
    await env.FLAGS.put('learning.enabled', '{"enabled":false}');
    await w.cron();
    const pause = await w.fetch('/admin/ops/pause', { method: 'PUT', headers: serviceHeaders(), json: { paused: true, reason: 'drill' } });
    expect(pause.status).toBe(200);
    const rows = await w.db.query<{ actor: string; action: string; target: string }>(
      'SELECT actor, action, target FROM public.ai_action_ledger WHERE id > $1 ORDER BY id',
      [since],
    );
    expect(rows).toEqual([
      { actor: 'api:service', action: 'flag.set', target: 'global.safe_mode' },
      { actor: 'kv', action: 'flag.set', target: 'learning.enabled' },
      { actor: 'api:service', action: 'ops.pause', target: 'ops.pause_jobs' },
    ]);
  });
});

describe('the rate_limits trigger', () => {
  it('records limit changes made in SQL (set, override, delete), not an updated_at touch', async () => {
    const since = await w.lastLedgerId();
    const user = '00000000-0000-0000-0000-000000000001';
    await session([
      "SET LOCAL application_name = 'ops-psql'",
      `UPDATE public.rate_limits SET max_requests = 1200, updated_at = now() WHERE route_class = 'user' AND user_id IS NULL`,
    ]);
    await w.db.query(`UPDATE public.rate_limits SET updated_at = now() WHERE route_class = 'anon'`);
    await w.db.query(
      `INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', '${user}', 5000, 60)`,
    );
    await w.db.query(`DELETE FROM public.rate_limits WHERE user_id = '${user}'`);
    const rows = await w.db.query<any>(
      `SELECT actor, action, target, old_value, new_value, metadata FROM public.ai_action_ledger
       WHERE id > $1 AND target LIKE 'rate_limits:%' ORDER BY id`,
      [since],
    );
    expect(rows.map((r) => [r.actor, r.action, r.target, r.old_value?.max_requests ?? null, r.new_value?.max_requests ?? null])).toEqual([
      ['sql', 'rate_limit.set', 'rate_limits:user', 600, 1200],
      ['sql', 'rate_limit.set', `rate_limits:user:${user}`, null, 5000],
      ['sql', 'rate_limit.delete', `rate_limits:user:${user}`, 5000, null],
    ]);
    expect(rows[0].metadata).toMatchObject({ path: 'sql', via: 'trigger', role: 'postgres', application_name: 'ops-psql' });
  });
});
