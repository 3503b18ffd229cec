// vw_discovery_queue_health's age columns say what they measure (issue 21, migration 0760): the
// guide's columns stay exactly as they were — age since enqueue (to now, to death, to finish) —
// and age_since_sec adds the time since the most recent change of a row in the status.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createUser, freshDatabase } from '../support/pg';

let fresh: Awaited<ReturnType<typeof freshDatabase>>;
let db: pg.Client;
beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db?.end();
  await fresh?.drop();
});

const HIKING = '11111111-1111-1111-1111-111111111111';

describe('vw_discovery_queue_health', () => {
  it("keeps the guide's columns in order and adds age_since_sec, each described", async () => {
    const { rows } = await db.query<{ column_name: string; description: string | null }>(
      `SELECT a.attname AS column_name, col_description(a.attrelid, a.attnum) AS description
         FROM pg_attribute a WHERE a.attrelid = 'public.vw_discovery_queue_health'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    expect(rows.map((r) => r.column_name)).toEqual([
      'status',
      'count',
      'p95_age_sec',
      'avg_age_sec',
      'oldest',
      'oldest_age_sec',
      'age_since_sec',
    ]);
    for (const r of rows.slice(2)) expect(r.description, r.column_name).toMatch(/\w/);
  });

  it('a job finished 50 minutes ago after 10 minutes of work: p95_age_sec is time to finish, age_since_sec time since', async () => {
    const user = await createUser(db);
    await db.query(
      `INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, status, created_at, processed_at, updated_at)
       VALUES ($1, $2, 'done', now() - interval '60 minutes', now() - interval '50 minutes', now() - interval '50 minutes')`,
      [user, HIKING],
    );
    const { rows } = await db.query(
      `SELECT count, p95_age_sec, oldest_age_sec, age_since_sec FROM public.vw_discovery_queue_health WHERE status = 'done'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].count)).toBe(1);
    expect(Number(rows[0].p95_age_sec)).toBeCloseTo(600, -1);
    expect(Number(rows[0].oldest_age_sec)).toBeCloseTo(600, -1);
    expect(Number(rows[0].age_since_sec)).toBeGreaterThanOrEqual(3000);
    expect(Number(rows[0].age_since_sec)).toBeLessThan(3060);
  });

  it("the guide's §4 query runs unchanged", async () => {
    const user = await createUser(db);
    await db.query(
      `INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, created_at) VALUES ($1, $2, now() - interval '5 minutes')`,
      [user, HIKING],
    );
    const { rows } = await db.query(`SELECT p95_age_sec FROM public.vw_discovery_queue_health WHERE status = 'queued';`);
    expect(Number(rows[0].p95_age_sec)).toBeGreaterThanOrEqual(300);
  });
});
