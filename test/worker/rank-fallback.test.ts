// An unknown policy version in the flag: safe behaviour and an error log, never a 500.
// learning.enabled = false in this file: nothing is queued, rewards are refused politely.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setRankFlags } from './learning-support';
import { call, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());
beforeAll(() => setRankFlags({ safeMode: false, learning: false, policy: { version: 'thompson_v7', epsilon: 0.2 } }));

describe('unknown policy version', () => {
  it('serves the safe slate, logs an error naming the version, and queues nothing with learning off', async () => {
    const errors = vi.spyOn(console, 'error');
    const surface = `fallback-${crypto.randomUUID()}`;
    const res = await call('/v1/rank', {
      method: 'POST',
      headers: await userHeaders(crypto.randomUUID()),
      json: {
        surface,
        limit: 2,
        candidates: [
          { id: 'a', score: 0.2 },
          { id: 'b', score: 0.8 },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ policy: 'safe_mode', fallback: 'unknown_policy', safe_mode: false, logged: false });
    expect(res.json.slate.map((s: { candidate_id: string }) => s.candidate_id)).toEqual(['b', 'a']);
    const logged = errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('ranker.unknown_policy'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error', version: 'thompson_v7' });
    errors.mockRestore();
    // Give a (wrongly) queued message time to land, then check nothing did.
    await new Promise((r) => setTimeout(r, 3_000));
    const rows = await db.query('SELECT 1 FROM public.learning_events WHERE surface = $1', [surface]);
    expect(rows).toHaveLength(0);
  });

  it('rewards are accepted but not recorded while learning is disabled', async () => {
    const res = await call('/v1/rewards', {
      method: 'POST',
      headers: await userHeaders(crypto.randomUUID()),
      json: { decision_id: crypto.randomUUID(), candidate_id: 'a', reward: 1 },
    });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: false, reason: 'learning_disabled' });
  });
});
