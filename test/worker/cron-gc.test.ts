// The nightly GC crons, driven through the Worker's scheduled() handler.
import { createExecutionContext, createScheduledController, env } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

async function runCron(cron: string) {
  const ctrl = createScheduledController({ cron, scheduledTime: Date.now() });
  await worker.scheduled(ctrl, env, createExecutionContext());
}

describe('nightly retention crons', () => {
  it('0 2 * * * deletes learning events past retention and keeps recent ones', async () => {
    const surface = `cron-gc-${crypto.randomUUID()}`;
    await db.query(
      `INSERT INTO public.learning_events (ts, surface, candidate_id, policy)
       SELECT now() - interval '120 days', $1, 'old-' || g, 'p' FROM generate_series(1, 7) g
       UNION ALL SELECT now() - interval '2 days', $1, 'recent', 'p'`, [surface]);
    await runCron('0 2 * * *');
    const rows = await db.query<{ candidate_id: string }>('SELECT candidate_id FROM public.learning_events WHERE surface = $1', [surface]);
    expect(rows.map((r) => r.candidate_id)).toEqual(['recent']);
  });

  it('0 3 * * * deletes intent signals past retention', async () => {
    const user = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    await db.query(
      `INSERT INTO public.intent_signals (created_at, user_id, kind) VALUES (now() - interval '45 days', $1, 'old'), (now(), $1, 'new')`, [user]);
    await runCron('0 3 * * *');
    const rows = await db.query<{ kind: string }>('SELECT kind FROM public.intent_signals WHERE user_id = $1', [user]);
    expect(rows.map((r) => r.kind)).toEqual(['new']);
  });

  it('an unknown schedule does nothing and does not throw', async () => {
    await expect(runCron('17 4 * * *')).resolves.toBeUndefined();
  });
});
