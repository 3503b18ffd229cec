// PUT /v1/me/interests under concurrency (issue 21): the replacement is atomic per user. Parallel
// PUTs of one user leave exactly one request's list — never the union, never a 500 from a
// deadlock — and the 100-interest cap holds for what is stored, also when rows appear around the
// route while it runs.
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { col, execute, queryOne, transaction } from '../../src/db/sql';
import { newUser, waitFor } from './discovery-support';
import { call, envelope, testDb, userHeaders } from './support';

const db = testDb();
afterAll(() => db.end());

/** The six seeded catalog interests (seeds/0002_catalog.sql). */
const SEEDED = [
  '11111111-1111-1111-1111-111111111111',
  '22222222-2222-2222-2222-222222222222',
  '33333333-3333-3333-3333-333333333333',
  '44444444-4444-4444-4444-444444444444',
  '55555555-5555-5555-5555-555555555555',
  '66666666-6666-6666-6666-666666666666',
];

const put = async (user: string, ids: string[], affinity = 0.5) =>
  call('/v1/me/interests', {
    method: 'PUT',
    headers: await userHeaders(user),
    json: { interests: ids.map((interest_id) => ({ interest_id, affinity })) },
  });

const stored = async (user: string): Promise<string[]> =>
  (
    await db.query<{ interest_id: string }>('SELECT interest_id FROM public.user_interests WHERE user_id = $1 ORDER BY interest_id', [user])
  ).map((r) => r.interest_id);

const sorted = (ids: string[]) => [...ids].sort();

/** n new catalog interests (one statement), ids in order. */
async function catalogInterests(n: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO public.interest_catalog (name) SELECT 'Atomic ' || gen_random_uuid() FROM generate_series(1, $1) RETURNING id`,
    [n],
  );
  return rows.map((r) => r.id);
}

describe('PUT /v1/me/interests is atomic per user', () => {
  it('20 rounds of two parallel disjoint PUTs: the stored set is always exactly one of the lists, never a 500', async () => {
    const user = await newUser(db);
    const a = SEEDED.slice(0, 3);
    const b = SEEDED.slice(3);
    for (let round = 0; round < 20; round++) {
      const [ra, rb] = await Promise.all([put(user, a, 0.1 + round / 100), put(user, b, 0.2 + round / 100)]);
      expect([ra.status, rb.status], JSON.stringify([ra.json, rb.json])).toEqual([200, 200]);
      const now = await stored(user);
      expect([sorted(a), sorted(b)], `round ${round}: stored ${now.join(',')}`).toContainEqual(now);
      // Each answer is the state its own transaction committed: its own list.
      expect(sorted(ra.json.interests.map((i: { interest_id: string }) => i.interest_id))).toEqual(sorted(a));
      expect(sorted(rb.json.interests.map((i: { interest_id: string }) => i.interest_id))).toEqual(sorted(b));
    }
  });

  it('six concurrent single-interest PUTs leave exactly one interest', async () => {
    for (let round = 0; round < 3; round++) {
      const user = await newUser(db);
      const results = await Promise.all(SEEDED.map((id) => put(user, [id])));
      expect(results.map((r) => r.status)).toEqual(SEEDED.map(() => 200));
      const now = await stored(user);
      expect(now).toHaveLength(1);
      expect(SEEDED).toContain(now[0]);
    }
  });

  it('k parallel PUTs of 100 interests each cannot push the caller past the 100-interest cap', async () => {
    const k = 3;
    const ids = await catalogInterests(100 * k);
    const lists = Array.from({ length: k }, (_, i) => ids.slice(i * 100, (i + 1) * 100));
    const user = await newUser(db);
    const results = await Promise.all(lists.map((list) => put(user, list)));
    expect(results.map((r) => r.status)).toEqual(lists.map(() => 200));
    const now = await stored(user);
    expect(now).toHaveLength(100);
    expect(lists.map(sorted)).toContainEqual(now);
  });

  it('rows written around the route while it runs count against the cap: 409 too_many_interests, nothing of it stored', async () => {
    const user = await newUser(db);
    const [held, wanted, ...others] = await catalogInterests(102);
    await db.query('INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.5)', [user, held]);
    // Another client (SQL, not this route) locks the caller's row the PUT must delete and, in the
    // same transaction, adds 100 interests, then commits once the PUT waits on that lock: the PUT's
    // replacement, whose snapshot predates the commit, cannot see (or delete) them.
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let holderPid!: number;
    let locked!: () => void;
    const holding = new Promise<void>((r) => {
      locked = r;
    });
    const other = transaction(db, async (tx) => {
      holderPid = (await queryOne(tx, 'test.pid', z.object({ pid: col.number }), sql`SELECT pg_backend_pid() AS pid`)).pid;
      await execute(tx, sql`SELECT 1 FROM public.user_interests WHERE user_id = ${user} AND interest_id = ${held} FOR UPDATE`);
      await execute(
        tx,
        sql`INSERT INTO public.user_interests (user_id, interest_id, affinity) SELECT ${user}, unnest(${sql.param(others)}::uuid[]), 0.5`,
      );
      locked();
      await released;
    });
    await Promise.race([holding, other]);
    const pending = put(user, [wanted!]);
    try {
      await waitFor(
        () => db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holderPid]),
        (r) => r[0]!.n > 0,
        10_000,
        'the PUT to wait on the held row',
      );
    } finally {
      release();
      await other;
    }
    const res = await pending;
    expect(res.status, JSON.stringify(res.json)).toBe(409);
    expect(envelope(res.json)).toMatchObject({ code: 'too_many_interests' });
    const now = await stored(user);
    expect(now).toHaveLength(101); // the other client's rows and the restored one: nothing of the PUT
    expect(now).not.toContain(wanted);
    expect(now).toContain(held);
  });
});
