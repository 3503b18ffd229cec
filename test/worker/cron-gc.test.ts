// The nightly GC crons, driven through the Worker's scheduled() handler.
import { createExecutionContext, createScheduledController, env } from 'cloudflare:test';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());
afterEach(() => vi.restoreAllMocks());

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
       UNION ALL SELECT now() - interval '2 days', $1, 'recent', 'p'`,
      [surface],
    );
    await runCron('0 2 * * *');
    const rows = await db.query<{ candidate_id: string }>('SELECT candidate_id FROM public.learning_events WHERE surface = $1', [surface]);
    expect(rows.map((r) => r.candidate_id)).toEqual(['recent']);
  });

  it('0 3 * * * deletes intent signals past retention', async () => {
    const user = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    await db.query(
      `INSERT INTO public.intent_signals (created_at, user_id, kind) VALUES (now() - interval '45 days', $1, 'old'), (now(), $1, 'new')`,
      [user],
    );
    await runCron('0 3 * * *');
    const rows = await db.query<{ kind: string }>('SELECT kind FROM public.intent_signals WHERE user_id = $1', [user]);
    expect(rows.map((r) => r.kind)).toEqual(['new']);
  });

  it('0 3 * * * deletes finished queue rows past retention in bounded batches, keeps the DLQ and live work, and logs the count', async () => {
    const user = crypto.randomUUID();
    await db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    const interests = await db.query<{ id: string }>(
      `INSERT INTO public.interest_catalog (name) SELECT 'gc-' || $1 || '-' || g FROM generate_series(1, 3) g RETURNING id`,
      [user],
    );
    const [a, b, c] = interests.map((i) => i.id);
    const marker = `gc-${user}`;
    await db.query(
      `INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, status, created_at, processed_at, dead_at, last_error)
       SELECT $1::uuid, $2::uuid, 'done', now() - interval '21 days', now() - interval '20 days', NULL::timestamptz, 'old-done-' || g FROM generate_series(1, 5) g
       UNION ALL SELECT $1, $2, 'done', now() - interval '3 days', now() - interval '2 days', NULL, 'recent-done'
       UNION ALL SELECT $1, $3, 'error', now() - interval '31 days', NULL, now() - interval '30 days', 'dead'
       UNION ALL SELECT $1, $4, 'queued', now() - interval '30 days', NULL, NULL, 'live'`,
      [user, a, b, c],
    );
    await db.query(
      `INSERT INTO public.events_queue (topic, payload, status, created_at, processed_at, last_error)
       SELECT 'gc.test', jsonb_build_object('marker', $1::text), 'done', now() - interval '21 days', now() - interval '20 days', 'old-done' FROM generate_series(1, 3)
       UNION ALL SELECT 'gc.test', jsonb_build_object('marker', $1::text), 'done', now(), now(), 'recent-done'`,
      [marker],
    );
    // Batches of 2 rows per table, so the job has to come back several times.
    const [policy] = await db.query<{ batch_size: number }>(
      `SELECT batch_size FROM public.retention_policies WHERE table_name = 'marketplace_discovery_queue'`,
    );
    expect(policy?.batch_size).toBe(5000); // seeded
    await db.query(`UPDATE public.retention_policies SET batch_size = 2 WHERE table_name = 'marketplace_discovery_queue'`);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    try {
      await runCron('0 3 * * *');
    } finally {
      await db.query(`UPDATE public.retention_policies SET batch_size = $1 WHERE table_name = 'marketplace_discovery_queue'`, [
        policy!.batch_size,
      ]);
    }
    const left = await db.query<{ last_error: string }>(
      'SELECT last_error FROM public.marketplace_discovery_queue WHERE user_id = $1 ORDER BY last_error',
      [user],
    );
    expect(left.map((r) => r.last_error)).toEqual(['dead', 'live', 'recent-done']);
    const outbox = await db.query<{ last_error: string }>(`SELECT last_error FROM public.events_queue WHERE payload->>'marker' = $1`, [
      marker,
    ]);
    expect(outbox.map((r) => r.last_error)).toEqual(['recent-done']);
    const done = lines
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      })
      .find((l) => l.msg === 'job.done' && l.job === 'gc-queue-done');
    // Other test files share this database, so at least our 8 rows, in at least 3 bounded calls.
    expect(done?.deleted).toBeGreaterThanOrEqual(8);
    expect(done?.batches).toBeGreaterThanOrEqual(3);
  });

  it('an unknown schedule does nothing and does not throw', async () => {
    await expect(runCron('17 4 * * *')).resolves.toBeUndefined();
  });
});
