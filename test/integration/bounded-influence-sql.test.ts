// Migration 0700 in SQL, as an operator meets it: which candidates are known, the reward range of a
// surface, the rollup's per-user-day bound for rows written by hand (NULL users share one bound),
// and retention of the per-user-day rows with learning_events (gc_learning_events).

import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pgDb } from '../../scripts/lib/pg-db';
import { queryRows } from '../../src/db/sql';
import { knownCandidate } from '../../src/learning/queries-candidate-stats';
import { joinRange, rangeMax, rangeMin } from '../../src/learning/queries-reward-ranges';
import { runLearningRollup } from '../../src/learning/rollup';
import { connect, freshDatabase } from '../support/pg';

let db: pg.Client;
let fresh: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db.end();
  await fresh.drop();
});

const CATALOG_ID = 'd0000000-0000-0000-0000-000000000001';
const known = async (surface: string, id: string) =>
  (await db.query('SELECT public.learning_candidate_known($1, $2) AS k', [surface, id])).rows[0].k as boolean;

describe('known candidates', () => {
  it('catalog ids on every surface (canonical text only), registered ids on their surface only', async () => {
    await db.query(`INSERT INTO public.surface_candidates (surface, candidate_id) VALUES ('feed', 'post_1')`);
    expect(await known('feed', CATALOG_ID)).toBe(true);
    expect(await known('anything', CATALOG_ID)).toBe(true);
    expect(await known('feed', CATALOG_ID.toUpperCase())).toBe(false);
    expect(await known('feed', crypto.randomUUID())).toBe(false);
    expect(await known('feed', 'post_1')).toBe(true);
    expect(await known('other', 'post_1')).toBe(false);
    expect(await known('feed', 'not-a-uuid')).toBe(false);
    // A constant that is not a uuid never reaches the cast (no "invalid input syntax for type uuid").
    expect((await db.query(`SELECT public.learning_candidate_known('feed', 'zz') AS k`)).rows[0].k).toBe(false);
  });

  it('the predicate the rollup and hydrate inline is the SQL function, case by case', async () => {
    const cases = [
      ['feed', CATALOG_ID],
      ['other', CATALOG_ID],
      ['feed', CATALOG_ID.toUpperCase()],
      ['feed', crypto.randomUUID()],
      ['feed', 'post_1'],
      ['other', 'post_1'],
      ['feed', 'not-a-uuid'],
      ['feed', ''],
    ];
    const values = sql.join(
      cases.map(([s, c]) => sql`(${s}::text, ${c}::text)`),
      sql`, `,
    );
    const rows = await queryRows(
      pgDb(db),
      'known_vs_function',
      z.object({ f: z.boolean(), inline: z.boolean() }),
      sql`SELECT public.learning_candidate_known(v.s, v.c) AS f, ${knownCandidate('v.s', 'v.c')} AS inline FROM (VALUES ${values}) AS v(s, c)`,
    );
    expect(rows.map((r) => r.f)).toEqual([true, true, false, false, true, false, false, false]);
    expect(rows.map((r) => r.inline)).toEqual(rows.map((r) => r.f));
  });
});

describe('reward ranges', () => {
  it("a surface's own row, else the '*' row, else [0, 1]", async () => {
    await db.query(`INSERT INTO public.reward_ranges (surface, min_reward, max_reward) VALUES ('stars', 1, 5)`);
    const range = async (s: string) => (await db.query('SELECT * FROM public.reward_range_for($1)', [s])).rows[0];
    expect(await range('stars')).toEqual({ min_reward: 1, max_reward: 5 });
    expect(await range('feed')).toEqual({ min_reward: 0, max_reward: 1 });
    await db.query('BEGIN');
    try {
      await db.query(`DELETE FROM public.reward_ranges WHERE surface = '*'`);
      expect(await range('feed')).toEqual({ min_reward: 0, max_reward: 1 });
    } finally {
      await db.query('ROLLBACK');
    }
    // The consumer's statements inline the same lookup (joinRange): they agree, with and without '*'.
    const inline = async (s: string) =>
      (
        await queryRows(
          pgDb(db),
          'range_vs_function',
          z.object({ min_reward: z.number(), max_reward: z.number() }),
          sql`SELECT ${rangeMin('rr')} AS min_reward, ${rangeMax('rr')} AS max_reward FROM (SELECT ${s}::text AS surface) v ${joinRange('v.surface', 'rr')}`,
        )
      )[0];
    for (const s of ['stars', 'feed']) expect(await inline(s)).toEqual(await range(s));
    await db.query('BEGIN');
    try {
      await db.query(`DELETE FROM public.reward_ranges WHERE surface = '*'`);
      expect(await inline('feed')).toEqual({ min_reward: 0, max_reward: 1 });
      await db.query(`INSERT INTO public.reward_ranges (surface, min_reward, max_reward) VALUES ('*', -1, 2)`);
      expect(await inline('feed')).toEqual(await range('feed'));
      expect(await range('feed')).toEqual({ min_reward: -1, max_reward: 2 });
    } finally {
      await db.query('ROLLBACK');
    }
    await expect(db.query(`INSERT INTO public.reward_ranges (surface, min_reward, max_reward) VALUES ('bad', 2, 1)`)).rejects.toThrow(
      /check/,
    );
    await expect(db.query(`INSERT INTO public.reward_ranges (surface, min_reward, max_reward) VALUES ('a b', 0, 1)`)).rejects.toThrow(
      /check/,
    );
  });
});

describe('the per-user-day bound on rows written in SQL', () => {
  it('events without a user share one bound per candidate and day', async () => {
    await db.query(`INSERT INTO public.surface_candidates (surface, candidate_id) VALUES ('sql', 'hand')`);
    await db.query(
      `INSERT INTO public.learning_events (surface, candidate_id, policy, p_exp, reward)
       SELECT 'sql', 'hand', 'p', 1, 1 FROM generate_series(1, 5)`,
    );
    const user = crypto.randomUUID();
    await db.query(
      `INSERT INTO public.learning_events (user_id, surface, candidate_id, policy, p_exp, reward) VALUES ($1, 'sql', 'hand', 'p', 1, 0)`,
      [user],
    );
    await runLearningRollup(pgDb(db));
    const { rows } = await db.query(`SELECT impressions, rewarded, reward_sum FROM public.learning_candidate_stats WHERE surface = 'sql'`);
    expect(rows).toEqual([{ impressions: '2', rewarded: '2', reward_sum: 1 }]);
    // The per-policy rollup still counts every row (it is read by no one's slate).
    const daily = await db.query(`SELECT impressions, rewarded FROM public.learning_policy_daily WHERE surface = 'sql'`);
    expect(daily.rows).toEqual([{ impressions: '6', rewarded: '6' }]);
  });
});

describe('retention', () => {
  it('gc_learning_events deletes per-user-day rows past the learning_events window, bounded per call', async () => {
    const user = crypto.randomUUID();
    await db.query(
      `INSERT INTO public.learning_candidate_user_days (surface, candidate_id, user_id, day, impression)
       SELECT 'gc', 'c' || g, $1::uuid, current_date - 200, true FROM generate_series(1, 3) g
       UNION ALL SELECT 'gc', 'fresh', $1::uuid, current_date - 1, true`,
      [user],
    );
    expect(Number((await db.query('SELECT public.gc_learning_events(2) AS n')).rows[0].n)).toBeGreaterThanOrEqual(2);
    await db.query('SELECT public.gc_learning_events()');
    const { rows } = await db.query(`SELECT candidate_id FROM public.learning_candidate_user_days WHERE surface = 'gc'`);
    expect(rows).toEqual([{ candidate_id: 'fresh' }]);
  });
});
