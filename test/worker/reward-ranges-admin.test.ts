// Reward ranges as operators change them, on a database of this file's own (the default range '*'
// is global): the admin routes (GET/PUT/DELETE, ledgered old → new), the edge copy they push at
// once, and an SQL change reaching the edge through the per-minute reward-range-sync job.
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { resetRewardRangesCache } from '../../src/learning/reward-ranges';
import { useFreshWorkerDatabase } from './fresh-db';
import { setRankFlags } from './learning-support';
import { userHeaders } from './support';

const fresh = useFreshWorkerDatabase();
beforeAll(() => setRankFlags({ safeMode: false, learning: true, policy: { version: 'epsilon_greedy_v1', epsilon: 0 } }));

async function rewardAs(user: string, body: Record<string, unknown>) {
  return fresh.fetch('/v1/rewards', { method: 'POST', headers: await userHeaders(user), json: body });
}

const ledger = (target: string) =>
  fresh.db.query<{ action: string; actor: string; old_value: unknown; new_value: unknown; reason: string | null }>(
    'SELECT action, actor, old_value, new_value, reason FROM public.ai_action_ledger WHERE target = $1 ORDER BY id',
    [target],
  );

describe('reward ranges through the admin routes', () => {
  it('the seeded default is [0, 1], in the table and at the edge', async () => {
    resetRewardRangesCache();
    const res = await fresh.fetch('/admin/reward-ranges');
    expect(res.status).toBe(200);
    expect(res.json.database).toMatchObject([{ surface: '*', min_reward: 0, max_reward: 1, updated_by: 'seed' }]);
    expect(res.json.fallback).toEqual({ min: 0, max: 1 });
    expect(res.json.edge.default).toEqual({ min: 0, max: 1 });
  });

  it('changing the default range: ledgered old → new, at the edge at once, idempotent', async () => {
    expect((await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 1.5 })).status).toBe(400);
    const set = await fresh.fetch('/admin/reward-ranges/*', {
      method: 'PUT',
      headers: { 'x-actor': 'cli' },
      json: { min_reward: 0, max_reward: 2, reason: 'ratings up to 2' },
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({ surface: '*', old: { min: 0, max: 1 }, new: { min: 0, max: 2 }, changed: true, kv: 'put' });
    expect(await ledger('*')).toEqual([
      { action: 'reward_range.set', actor: 'cli', old_value: { min: 0, max: 1 }, new_value: { min: 0, max: 2 }, reason: 'ratings up to 2' },
    ]);
    expect((await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 1.5 })).status).toBe(202);
    const again = await fresh.fetch('/admin/reward-ranges/*', { method: 'PUT', json: { min_reward: 0, max_reward: 2 } });
    expect(again.json).toMatchObject({ changed: false, old: { min: 0, max: 2 } });
    expect(await ledger('*')).toHaveLength(1);
    const [row] = await fresh.db.query('SELECT min_reward, max_reward, updated_by FROM public.reward_ranges WHERE surface = $1', ['*']);
    expect(row).toEqual({ min_reward: 0, max_reward: 2, updated_by: 'cli' });
  });

  it("a surface's own range, and removing it again", async () => {
    const put = await fresh.fetch('/admin/reward-ranges/stars', { method: 'PUT', json: { min_reward: 1, max_reward: 5 } });
    expect(put.json).toEqual({ surface: 'stars', old: null, new: { min: 1, max: 5 }, changed: true, kv: 'put' });
    const low = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 0.5, surface: 'stars' });
    expect(low.status).toBe(400);
    expect(low.json.error.message).toBe('reward 0.5 is outside [1, 5] (the reward range of surface "stars")');
    const del = await fresh.fetch('/admin/reward-ranges/stars?reason=retired', { method: 'DELETE' });
    expect(del.json).toEqual({ surface: 'stars', old: { min: 1, max: 5 }, new: null, changed: true, kv: 'put' });
    expect((await fresh.fetch('/admin/reward-ranges/stars', { method: 'DELETE' })).json).toMatchObject({ changed: false });
    expect((await ledger('stars')).map((r) => [r.action, r.old_value, r.new_value, r.reason])).toEqual([
      ['reward_range.set', null, { min: 1, max: 5 }, null],
      ['reward_range.unset', { min: 1, max: 5 }, null, 'retired'],
    ]);
    // Back to the default range.
    const now = await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 0.5, surface: 'stars' });
    expect(now.status).toBe(202);
  });

  it('refuses an empty or inverted range, a range past the bound, and removing the default; nothing is written', async () => {
    const before = await fresh.db.query('SELECT * FROM public.reward_ranges ORDER BY surface');
    for (const body of [
      { min_reward: 1, max_reward: 1 },
      { min_reward: 2, max_reward: 1 },
      { min_reward: 0, max_reward: 2e6 },
    ]) {
      const res = await fresh.fetch('/admin/reward-ranges/feed', { method: 'PUT', json: body });
      expect(res.status).toBe(400);
    }
    const del = await fresh.fetch('/admin/reward-ranges/*', { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(del.json.error.message).toContain('cannot be removed');
    expect(await fresh.db.query('SELECT * FROM public.reward_ranges ORDER BY surface')).toEqual(before);
  });

  it("an operator's SQL change reaches the edge with the per-minute sync", async () => {
    await fresh.db.query(`UPDATE public.reward_ranges SET max_reward = 3 WHERE surface = '*'`);
    // Still the pushed copy: the request path never reads Postgres.
    expect((await fresh.fetch('/admin/reward-ranges')).json.edge.default).toEqual({ min: 0, max: 2 });
    await worker.scheduled(
      createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }),
      fresh.env,
      createExecutionContext(),
    );
    expect((await fresh.fetch('/admin/reward-ranges')).json.edge.default).toEqual({ min: 0, max: 3 });
    expect((await rewardAs(crypto.randomUUID(), { decision_id: crypto.randomUUID(), candidate_id: 'x', reward: 2.5 })).status).toBe(202);
  });
});
