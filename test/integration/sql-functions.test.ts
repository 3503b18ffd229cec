// The guide's functions do real work: enqueue with dedupe + outbox, category mapping,
// suggestions order, retention GC.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser, connect, createUser } from '../support/pg';

const HIKING = '11111111-1111-1111-1111-111111111111';
const PHOTO = '22222222-2222-2222-2222-222222222222';
const COOKING = '33333333-3333-3333-3333-333333333333';

let db: pg.Client;
beforeAll(async () => {
  db = await connect();
});
afterAll(async () => {
  await db.end();
});

async function setInterests(user: string, list: [string, number][]) {
  for (const [interest, affinity] of list) {
    await db.query('INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, $3)', [user, interest, affinity]);
  }
}

describe('enqueue_discovery_for_user', () => {
  it('queues one job per interest plus one outbox row, and dedupes live jobs', async () => {
    const user = await createUser(db);
    await setInterests(user, [
      [HIKING, 0.9],
      [PHOTO, 0.5],
    ]);
    const first = await db.query('SELECT public.enqueue_discovery_for_user($1) AS n', [user]);
    expect(first.rows[0].n).toBe(2);
    const again = await db.query('SELECT public.enqueue_discovery_for_user($1) AS n', [user]);
    expect(again.rows[0].n).toBe(0);

    const jobs = await db.query(
      'SELECT interest_id, status, topic FROM public.marketplace_discovery_queue WHERE user_id = $1 ORDER BY interest_id',
      [user],
    );
    expect(jobs.rows).toEqual([
      { interest_id: HIKING, status: 'queued', topic: 'discovery.user-signup' },
      { interest_id: PHOTO, status: 'queued', topic: 'discovery.user-signup' },
    ]);
    const outbox = await db.query(`SELECT topic, payload FROM public.events_queue WHERE payload->>'user_id' = $1`, [user]);
    expect(outbox.rows).toHaveLength(1);
    expect(outbox.rows[0].topic).toBe('discovery.user-signup');
    expect(outbox.rows[0].payload.job_ids).toHaveLength(2);
    expect([...outbox.rows[0].payload.interest_ids].sort()).toEqual([HIKING, PHOTO]);

    // A finished job no longer blocks a new one for the same interest.
    await db.query(
      `UPDATE public.marketplace_discovery_queue SET status = 'done', processed_at = now() WHERE user_id = $1 AND interest_id = $2`,
      [user, HIKING],
    );
    const third = await db.query('SELECT public.enqueue_discovery_for_user($1) AS n', [user]);
    expect(third.rows[0].n).toBe(1);
  });

  it('refuses to enqueue for another user when called with user claims', async () => {
    const alice = await createUser(db);
    const bob = await createUser(db);
    await setInterests(bob, [[COOKING, 0.4]]);
    await expect(asUser(db, alice, () => db.query('SELECT public.enqueue_discovery_for_user($1)', [bob]))).rejects.toThrow(/another user/);
    const n = await asUser(db, bob, async () => (await db.query('SELECT public.enqueue_discovery_for_user($1) AS n', [bob])).rows[0].n);
    expect(n).toBe(1);
  });
});

describe('ensure_category_for_interest', () => {
  it('returns the mapped category of a seeded interest', async () => {
    const { rows } = await db.query('SELECT public.ensure_category_for_interest($1) AS id', [HIKING]);
    expect(rows[0].id).toBe('c0000000-0000-0000-0000-000000000001');
  });

  it('creates and maps a category for an unmapped interest, idempotently', async () => {
    const name = `Interest ${crypto.randomUUID()}`;
    const {
      rows: [interest],
    } = await db.query('INSERT INTO public.interest_catalog (name) VALUES ($1) RETURNING id', [name]);
    const a = (await db.query('SELECT public.ensure_category_for_interest($1) AS id', [interest.id])).rows[0].id;
    const b = (await db.query('SELECT public.ensure_category_for_interest($1) AS id', [interest.id])).rows[0].id;
    expect(a).toBe(b);
    const cat = await db.query('SELECT name FROM public.marketplace_categories WHERE id = $1', [a]);
    expect(cat.rows[0].name).toBe(name);
    const map = await db.query('SELECT count(*)::int AS n FROM public.marketplace_interest_map WHERE interest_id = $1', [interest.id]);
    expect(map.rows[0].n).toBe(1);
  });

  it('rejects an unknown interest', async () => {
    await expect(db.query('SELECT public.ensure_category_for_interest($1)', [crypto.randomUUID()])).rejects.toThrow(/unknown interest/);
  });
});

describe('marketplace_suggestions_for_user', () => {
  it('orders by affinity × score with stable tie-breaking and honours the limit', async () => {
    const user = await createUser(db);
    // A private category with three candidates, two of them tied on score.
    const {
      rows: [interest],
    } = await db.query('INSERT INTO public.interest_catalog (name) VALUES ($1) RETURNING id', [`Tie ${crypto.randomUUID()}`]);
    const category = (await db.query('SELECT public.ensure_category_for_interest($1) AS id', [interest.id])).rows[0].id;
    const ids = [
      'e0000000-0000-0000-0000-00000000000b',
      'e0000000-0000-0000-0000-00000000000a',
      'e0000000-0000-0000-0000-00000000000c',
    ].map((id) => id.replace('e0000000', crypto.randomUUID().slice(0, 8)));
    await db.query(
      `INSERT INTO public.marketplace_candidates (id, category_id, title, score) VALUES
       ($1, $4, 'tie b', 0.5), ($2, $4, 'tie a', 0.5), ($3, $4, 'best', 0.9)`,
      [...ids, category],
    );
    await setInterests(user, [
      [interest.id, 1],
      [HIKING, 0.1],
    ]);

    const { rows } = await db.query('SELECT candidate_id, score FROM public.marketplace_suggestions_for_user($1, 12)', [user]);
    const tied = [ids[0], ids[1]].sort();
    expect(rows.map((r) => r.candidate_id)).toEqual([ids[2], tied[0], tied[1], 'd0000000-0000-0000-0000-000000000001']);
    expect(rows[3].score).toBeCloseTo(0.1 * 0.92, 5);
    const limited = await db.query('SELECT candidate_id FROM public.marketplace_suggestions_for_user($1, 2)', [user]);
    expect(limited.rows.map((r) => r.candidate_id)).toEqual([ids[2], tied[0]]);
  });

  it('shows a user nothing of another user when called with user claims (RLS)', async () => {
    const alice = await createUser(db);
    const bob = await createUser(db);
    await setInterests(bob, [[HIKING, 1]]);
    const rows = await asUser(
      db,
      alice,
      async () => (await db.query('SELECT * FROM public.marketplace_suggestions_for_user($1, 12)', [bob])).rows,
    );
    expect(rows).toEqual([]);
    const own = await asUser(
      db,
      bob,
      async () => (await db.query('SELECT * FROM public.marketplace_suggestions_for_user($1, 12)', [bob])).rows,
    );
    expect(own).toHaveLength(1);
  });
});

describe('gc_learning_events / gc_intent_signals', () => {
  it('delete only rows past the retention window and return how many', async () => {
    const user = await createUser(db);
    const surface = `gc-${crypto.randomUUID()}`;
    await db.query(
      `INSERT INTO public.learning_events (ts, user_id, surface, candidate_id, policy)
       VALUES (now() - interval '200 days', $1, $2, 'old', 'p'), (now() - interval '1 day', $1, $2, 'new', 'p')`,
      [user, surface],
    );
    await db.query(
      `INSERT INTO public.intent_signals (created_at, user_id, kind)
       VALUES (now() - interval '100 days', $1, 'old'), (now(), $1, 'new')`,
      [user],
    );
    const le = await db.query('SELECT public.gc_learning_events() AS n');
    const is = await db.query('SELECT public.gc_intent_signals() AS n');
    expect(Number(le.rows[0].n)).toBeGreaterThanOrEqual(1);
    expect(Number(is.rows[0].n)).toBeGreaterThanOrEqual(1);
    const left = await db.query('SELECT candidate_id FROM public.learning_events WHERE surface = $1', [surface]);
    expect(left.rows.map((r) => r.candidate_id)).toEqual(['new']);
    const signals = await db.query('SELECT kind FROM public.intent_signals WHERE user_id = $1', [user]);
    expect(signals.rows.map((r) => r.kind)).toEqual(['new']);
  });

  it('honour the retention window in retention_policies and the batch bound', async () => {
    const user = await createUser(db);
    await db.query(
      `INSERT INTO public.intent_signals (created_at, user_id, kind)
                    SELECT now() - interval '10 days', $1, 'k' || g FROM generate_series(1, 5) g`,
      [user],
    );
    await db.query('BEGIN');
    try {
      await db.query(`UPDATE public.retention_policies SET retain = interval '7 days' WHERE table_name = 'intent_signals'`);
      const batch = await db.query('SELECT public.gc_intent_signals(2) AS n');
      expect(Number(batch.rows[0].n)).toBe(2);
      await db.query('SELECT public.gc_intent_signals()');
      const left = await db.query('SELECT count(*)::int AS n FROM public.intent_signals WHERE user_id = $1', [user]);
      expect(left.rows[0].n).toBe(0);
    } finally {
      await db.query('ROLLBACK');
    }
  });
});
