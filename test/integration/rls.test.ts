// Row-level security on the five tables of guide §2A, enforced by Postgres itself: connected as
// role `authenticated` with ANOTHER user's claims, statements that "forgot" their WHERE read
// nothing of the victim's and every write aimed at the victim's rows fails or touches no row.
// Positive controls prove the role can do its legitimate work (so a blanket denial cannot pass).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asUser, connect, createUser } from '../support/pg';

const HIKING = '11111111-1111-1111-1111-111111111111';
const PHOTO = '22222222-2222-2222-2222-222222222222';

let owner: pg.Client;
let victim: string;
let attacker: string;

interface TableCase {
  table: string;
  /** Insert one victim row as the owner (not subject to RLS). */
  seed: (user: string) => [string, unknown[]];
  /** Writes the attacker tries, each aimed at the victim. */
  insertAsVictim: (user: string) => [string, unknown[]];
  update: string;
  /** A legitimate write of the attacker's own (or null when the role may not write at all). */
  ownWrite: ((self: string) => [string, unknown[]]) | null;
}

const cases: TableCase[] = [
  {
    table: 'user_interests',
    seed: (u) => ['INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.9)', [u, HIKING]],
    insertAsVictim: (u) => ['INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.1)', [u, PHOTO]],
    update: 'UPDATE public.user_interests SET affinity = 0',
    ownWrite: (s) => ['INSERT INTO public.user_interests (user_id, interest_id, affinity) VALUES ($1, $2, 0.5)', [s, HIKING]],
  },
  {
    table: 'intent_signals',
    seed: (u) => ["INSERT INTO public.intent_signals (user_id, interest_id, kind) VALUES ($1, $2, 'view')", [u, HIKING]],
    insertAsVictim: (u) => ["INSERT INTO public.intent_signals (user_id, kind) VALUES ($1, 'forged')", [u]],
    update: "UPDATE public.intent_signals SET kind = 'tampered'",
    ownWrite: (s) => ["INSERT INTO public.intent_signals (user_id, kind) VALUES ($1, 'view')", [s]],
  },
  {
    table: 'marketplace_discovery_queue',
    seed: (u) => ['INSERT INTO public.marketplace_discovery_queue (user_id, interest_id) VALUES ($1, $2)', [u, HIKING]],
    insertAsVictim: (u) => ['INSERT INTO public.marketplace_discovery_queue (user_id, interest_id) VALUES ($1, $2)', [u, PHOTO]],
    update: "UPDATE public.marketplace_discovery_queue SET status = 'error'",
    ownWrite: null, // only enqueue_discovery_for_user (SECURITY DEFINER) writes jobs
  },
  {
    table: 'learning_events',
    seed: (u) => ["INSERT INTO public.learning_events (user_id, surface, candidate_id, policy) VALUES ($1, 'feed', 'c1', 'p')", [u]],
    insertAsVictim: (u) => [
      "INSERT INTO public.learning_events (user_id, surface, candidate_id, policy, reward) VALUES ($1, 'feed', 'c2', 'p', 1)",
      [u],
    ],
    update: 'UPDATE public.learning_events SET reward = 1',
    ownWrite: (s) => ["INSERT INTO public.learning_events (user_id, surface, candidate_id, policy) VALUES ($1, 'feed', 'c3', 'p')", [s]],
  },
  {
    table: 'rate_limits',
    seed: (u) => ["INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, 5, 60)", [u]],
    insertAsVictim: (u) => [
      "INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('admin_write', $1, 1, 60)",
      [u],
    ],
    update: 'UPDATE public.rate_limits SET max_requests = 1000000',
    ownWrite: null, // limits are operator configuration
  },
];

/** Run one statement as `user`; report the error code or the affected row count. */
async function attempt(user: string, sql: string, params: unknown[] = []): Promise<{ code?: string; rowCount?: number }> {
  return asUser(owner, user, async () => {
    try {
      const res = await owner.query(sql, params);
      return { rowCount: res.rowCount ?? 0 };
    } catch (err) {
      return { code: (err as { code?: string }).code ?? 'error' };
    }
  });
}

const victimRows = async (table: string) =>
  (await owner.query(`SELECT * FROM public.${table} WHERE user_id = $1 ORDER BY 1`, [victim])).rows;

beforeAll(async () => {
  owner = await connect();
  victim = await createUser(owner);
  attacker = await createUser(owner);
  for (const c of cases) {
    const [sql, params] = c.seed(victim);
    await owner.query(sql, params);
  }
});
afterAll(async () => {
  await owner.query('DELETE FROM auth.users WHERE id = ANY($1)', [[victim, attacker]]);
  await owner.end();
});

describe.each(cases)('RLS on public.$table, as another user', (c) => {
  it("a SELECT that forgot its WHERE returns none of the victim's rows", async () => {
    const rows = await asUser(owner, attacker, async () => (await owner.query(`SELECT * FROM public.${c.table}`)).rows);
    expect(rows.filter((r) => r.user_id === victim)).toEqual([]);
    const count = await asUser(
      owner,
      attacker,
      async () => (await owner.query(`SELECT count(*)::int AS n FROM public.${c.table} WHERE user_id = $1`, [victim])).rows[0].n,
    );
    expect(count).toBe(0);
  });

  it('the victim sees their own row (positive control)', async () => {
    const rows = await asUser(owner, victim, async () => (await owner.query(`SELECT * FROM public.${c.table}`)).rows);
    expect(rows.filter((r) => r.user_id === victim)).toHaveLength(1);
  });

  it("inserting a row in the victim's name fails", async () => {
    const [sql, params] = c.insertAsVictim(victim);
    const result = await attempt(attacker, sql, params);
    expect(result.code).toBe('42501'); // insufficient_privilege: RLS WITH CHECK or no grant
  });

  it("an UPDATE or DELETE that forgot its WHERE changes none of the victim's rows", async () => {
    const before = await victimRows(c.table);
    for (const sql of [c.update, `DELETE FROM public.${c.table}`]) {
      const result = await attempt(attacker, sql);
      if (result.code === undefined) expect(result.rowCount).toBe(0);
      else expect(result.code).toBe('42501');
    }
    // Also outside the rolled-back transaction: nothing changed.
    expect(await victimRows(c.table)).toEqual(before);
  });
});

describe.each(cases.filter((c) => c.ownWrite !== null))('RLS on public.$table, positive control', (c) => {
  it('the attacker can still write their own rows', async () => {
    const [sql, params] = c.ownWrite!(attacker);
    expect(await attempt(attacker, sql, params)).toEqual({ rowCount: 1 });
  });
});

describe('claims decide, not the connection', () => {
  it('without claims, `authenticated` sees no user rows at all', async () => {
    await owner.query('BEGIN');
    try {
      await owner.query('SET LOCAL ROLE authenticated');
      const { rows } = await owner.query('SELECT count(*)::int AS n FROM public.user_interests');
      expect(rows[0].n).toBe(0);
    } finally {
      await owner.query('ROLLBACK');
    }
  });

  it('rate_limits: a user reads the class defaults and their own overrides only', async () => {
    const rows = await asUser(owner, attacker, async () => (await owner.query('SELECT route_class, user_id FROM public.rate_limits')).rows);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.user_id === null || r.user_id === attacker)).toBe(true);
  });
});
