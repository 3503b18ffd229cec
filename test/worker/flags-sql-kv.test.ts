// Flip paths end to end inside workerd: the guide's SQL (+ the per-minute cron) and the
// operator's KV put (+ the sync back to Postgres), each seen by GET /v1/flags, each with its
// ledger row; and the conflict case (both changed before a sync).
import { env } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import guide from '../../docs/spec/day0-cutover-guide.md?raw';
import { MEMORY_TTL_MS } from '../../src/flags';
import { guideSqlOf } from '../support/guide-text';
import { useFlagsWorld } from './flags-support';

const w = useFlagsWorld();

const safeMode = async () => {
  const { status, json } = await w.fetch('/v1/flags');
  expect(status).toBe(200);
  return json.flags['global.safe_mode'];
};
/** Let this isolate's memory cache expire (the clock is the only thing that ends it). */
const afterMemoryTtl = () => vi.setSystemTime(Date.now() + MEMORY_TTL_MS + 1);

describe('SQL path: guide §3 verbatim, then the per-minute cron', () => {
  it('the abort switch statements flip safe mode at the edge within one cron run, each with a ledger row', async () => {
    const [enable, disable] = guideSqlOf(guide, '3. Abort Switch');
    expect(enable).toMatch(/SET value = '\{"enabled": true\}'::jsonb, updated_at = now\(\)/);
    expect(disable).toMatch(/'\{"enabled": false\}'/);
    const since = await w.lastLedgerId();
    expect(await safeMode()).toEqual({ enabled: false });

    await w.db.query(enable!);
    await w.cron();
    expect(await env.FLAGS.get('global.safe_mode', 'json')).toEqual({ enabled: true });
    afterMemoryTtl(); // as any other isolate would (the cron's own isolate drops its cache at once)
    expect(await safeMode()).toEqual({ enabled: true });

    await w.db.query(disable!);
    await w.cron();
    afterMemoryTtl();
    expect(await safeMode()).toEqual({ enabled: false });

    const rows = await w.ledger('global.safe_mode', since);
    expect(rows.map((r) => [r.actor, r.action, r.metadata.path, r.old_value, r.new_value])).toEqual([
      ['sql', 'flag.set', 'sql', { enabled: false }, { enabled: true }],
      ['sql', 'flag.set', 'sql', { enabled: true }, { enabled: false }],
    ]);
    expect(rows[0]!.metadata.updated_by).toBe('sql:postgres');
  });

  it('before the cron runs, the edge still serves the KV copy (the documented ≤ 1 min delay)', async () => {
    const [enable] = guideSqlOf(guide, '3. Abort Switch');
    await w.db.query(enable!);
    afterMemoryTtl();
    expect(await safeMode()).toEqual({ enabled: false });
  });

  it('the appendix toggles (no updated_at) work too: the trigger dates the change', async () => {
    const toggles = guideSqlOf(guide, 'Appendix: SQL Quick Reference').filter((s) => s.includes('global.safe_mode'));
    expect(toggles).toHaveLength(2);
    const [before] = await w.db.query<{ updated_at: Date }>("SELECT updated_at FROM public.feature_flags WHERE key = 'global.safe_mode'");
    await w.db.query(toggles[0]!);
    const [after] = await w.db.query<{ updated_at: Date; updated_by: string }>(
      "SELECT updated_at, updated_by FROM public.feature_flags WHERE key = 'global.safe_mode'",
    );
    expect(after!.updated_at.getTime()).toBeGreaterThan(before!.updated_at.getTime());
    expect(after!.updated_by).toBe('sql:postgres');
    await w.cron();
    expect(await safeMode()).toEqual({ enabled: true });
  });
});

describe('KV path: wrangler kv key put, then the sync back to Postgres', () => {
  it('is seen by the next request after the isolate cache, lands in Postgres at the next sync, with a ledger row', async () => {
    const since = await w.lastLedgerId();
    expect(await safeMode()).toEqual({ enabled: false });
    // Exactly what `wrangler kv key put --binding FLAGS global.safe_mode '{"enabled":true}'` stores:
    // the text, no metadata.
    vi.setSystemTime(Date.now()); // freeze the isolate's clock: only afterMemoryTtl() moves it
    expect(await safeMode()).toEqual({ enabled: false });
    await env.FLAGS.put('global.safe_mode', '{"enabled":true}');
    expect(await safeMode()).toEqual({ enabled: false }); // still this isolate's memory copy
    afterMemoryTtl();
    expect(await safeMode()).toEqual({ enabled: true });
    const [pgBefore] = await w.db.query<{ value: unknown }>("SELECT value FROM public.feature_flags WHERE key = 'global.safe_mode'");
    expect(pgBefore!.value).toEqual({ enabled: false });

    await w.cron();
    const [pgAfter] = await w.db.query<{ value: unknown; updated_by: string }>(
      "SELECT value, updated_by FROM public.feature_flags WHERE key = 'global.safe_mode'",
    );
    expect(pgAfter).toEqual({ value: { enabled: true }, updated_by: 'kv' });
    const rows = await w.ledger('global.safe_mode', since);
    expect(rows.map((r) => [r.actor, r.action, r.metadata.path, r.old_value, r.new_value])).toEqual([
      ['kv', 'flag.set', 'kv', { enabled: false }, { enabled: true }],
    ]);
    // The KV value stays the operator's plain JSON; a second sync changes nothing more.
    expect(await env.FLAGS.get('global.safe_mode')).toBe('{"enabled":true}');
    await w.cron();
    expect(await w.ledger('global.safe_mode', since)).toHaveLength(1);
    expect(await safeMode()).toEqual({ enabled: true });
  });

  it('an SQL change made after a synced KV flip is not undone by the older KV copy', async () => {
    await env.FLAGS.put('global.safe_mode', '{"enabled":true}');
    await w.cron(); // KV → Postgres
    await w.db.query(`UPDATE public.feature_flags SET value = '{"enabled": false}'::jsonb WHERE key = 'global.safe_mode'`);
    await w.cron(); // Postgres → KV: the KV copy equals the base, so only Postgres changed
    expect(await env.FLAGS.get('global.safe_mode', 'json')).toEqual({ enabled: false });
    afterMemoryTtl();
    expect(await safeMode()).toEqual({ enabled: false });
  });
});

describe('KV copies lagging behind our own writes', () => {
  it('a KV entry holding an older revision of ours is stale, not a change: Postgres is not reverted', async () => {
    const since = await w.lastLedgerId();
    const before = await env.FLAGS.getWithMetadata<{ rev: number }>('global.safe_mode');
    await w.db.query(`UPDATE public.feature_flags SET value = '{"enabled": true}'::jsonb WHERE key = 'global.safe_mode'`);
    await w.cron(); // rev + 1 pushed to KV
    // A location that has not seen that push yet still answers with the previous write of ours.
    await env.FLAGS.put('global.safe_mode', before.value!, { metadata: before.metadata });
    await w.cron();
    const [row] = await w.db.query<{ value: unknown }>("SELECT value FROM public.feature_flags WHERE key = 'global.safe_mode'");
    expect(row!.value).toEqual({ enabled: true });
    expect(await env.FLAGS.get('global.safe_mode', 'json')).toEqual({ enabled: true });
    expect((await w.ledger('global.safe_mode', since)).map((r) => r.actor)).toEqual(['sql']);
  });
});

describe('conflict: both sides changed before a sync', () => {
  it('a KV put after the SQL update (dated when the sync sees it) wins; both recorded, each when it happened', async () => {
    const since = await w.lastLedgerId();
    await w.db.query(`UPDATE public.feature_flags SET value = '{"version":"sql_v2","epsilon":0.05}'::jsonb WHERE key = 'ranker.policy'`);
    await env.FLAGS.put('ranker.policy', '{"version":"kv_v3","epsilon":0.02}');
    await w.cron();
    const [row] = await w.db.query<{ value: unknown }>("SELECT value FROM public.feature_flags WHERE key = 'ranker.policy'");
    expect(row!.value).toEqual({ version: 'kv_v3', epsilon: 0.02 });
    const rows = await w.ledger('ranker.policy', since);
    // The SQL update is in the ledger from the moment it was made (trigger), the KV put from the
    // sync that adopted it, then the conflict the sync resolved.
    expect(rows.map((r) => [r.actor, r.action])).toEqual([
      ['sql', 'flag.set'],
      ['kv', 'flag.set'],
      ['cron:flag-sync', 'flag.conflict'],
    ]);
    expect(rows[0]).toMatchObject({ new_value: { version: 'sql_v2', epsilon: 0.05 }, metadata: { path: 'sql', via: 'trigger' } });
    expect(rows[2]).toMatchObject({
      old_value: { version: 'sql_v2', epsilon: 0.05 },
      new_value: { version: 'kv_v3', epsilon: 0.02 },
      metadata: { winner: 'kv', loser: 'sql', kv: { dated_by: 'observed' } },
    });
    const [state] = await w.db.query<{ last_conflict: any }>(
      "SELECT last_conflict FROM public.feature_flag_sync WHERE key = 'ranker.policy'",
    );
    expect(state!.last_conflict).toMatchObject({ winner: 'kv', sql: { value: { version: 'sql_v2', epsilon: 0.05 } } });
    afterMemoryTtl();
    expect((await w.fetch('/v1/flags')).json.flags['ranker.policy']).toEqual({ version: 'kv_v3', epsilon: 0.02 });
  });

  it('an SQL update newer than a dated KV put wins: KV is overwritten', async () => {
    const since = await w.lastLedgerId();
    // `wrangler kv key put … --metadata '{"updated_at":"…"}'` dates a KV edit explicitly.
    await env.FLAGS.put('ranker.policy', '{"version":"kv_old","epsilon":0.02}', {
      metadata: { updated_at: new Date(Date.now() - 30_000).toISOString() },
    });
    await w.db.query(`UPDATE public.feature_flags SET value = '{"version":"sql_new","epsilon":0.04}'::jsonb WHERE key = 'ranker.policy'`);
    await w.cron();
    expect(await env.FLAGS.get('ranker.policy', 'json')).toEqual({ version: 'sql_new', epsilon: 0.04 });
    const rows = await w.ledger('ranker.policy', since);
    expect(rows.map((r) => [r.actor, r.action, r.metadata.winner ?? null])).toEqual([
      ['sql', 'flag.set', null],
      ['cron:flag-sync', 'flag.conflict', 'sql'],
    ]);
    afterMemoryTtl();
    expect((await w.fetch('/v1/flags')).json.flags['ranker.policy']).toEqual({ version: 'sql_new', epsilon: 0.04 });
  });
});
