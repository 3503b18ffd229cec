// Erasure cannot forget a table: every column that holds a user id — found in the catalog, not in a
// list someone has to remember (columns named user_id, columns referencing auth.users, and
// auth.users itself) — must be covered by public.erasure_targets, which erase_user_rows() and the
// erasure's completion act on. A table added later with a user id fails here until its migration
// says how erasure reaches it (an erasure_targets row).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createUser, freshDatabase } from '../support/pg';

interface Col {
  table_schema: string;
  table_name: string;
  column_name: string;
}
const name = (c: Col) => `${c.table_schema}.${c.table_name}.${c.column_name}`;

/** Columns of base tables that hold a user id, by the catalog. */
async function userIdColumns(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query<Col>(`
    SELECT c.table_schema, c.table_name, c.column_name
      FROM information_schema.columns c
      JOIN information_schema.tables t
        ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
     WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.column_name = 'user_id'
    UNION
    SELECT n.nspname, cl.relname, a.attname
      FROM pg_constraint k
      JOIN pg_class cl ON cl.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = cl.relnamespace
      JOIN LATERAL unnest(k.conkey) AS kc(attnum) ON true
      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = kc.attnum
     WHERE k.contype = 'f' AND k.confrelid = 'auth.users'::regclass
    UNION
    SELECT 'auth', 'users', 'id'`);
  return rows.map(name).sort();
}

async function covered(db: pg.Client): Promise<string[]> {
  const { rows } = await db.query<Col>('SELECT table_schema, table_name, column_name FROM public.erasure_targets');
  return rows.map(name).sort();
}

const uncovered = async (db: pg.Client) => {
  const have = new Set(await covered(db));
  return (await userIdColumns(db)).filter((c) => !have.has(c));
};

let db: pg.Client;
let fresh: Awaited<ReturnType<typeof freshDatabase>>;
let freshDb: pg.Client;
beforeAll(async () => {
  db = await connect();
  fresh = await freshDatabase();
  freshDb = await connect(fresh.url);
});
afterAll(async () => {
  await db?.end();
  await freshDb?.end();
  await fresh?.drop();
});

describe('erasure covers every table that holds a user id', () => {
  it('every user-id column of the catalog is an erasure target, and every target exists', async () => {
    const found = await userIdColumns(db);
    // The scan sees the tables we know of (it reads the catalog, so it also sees the ones we do not).
    expect(found).toEqual(expect.arrayContaining(['auth.users.id', 'public.learning_events.user_id', 'public.rate_limits.user_id']));
    expect(await uncovered(db)).toEqual([]);
    expect(await covered(db)).toEqual(found);
  });

  it('a new table with a user id is reported until its erasure target is added', async () => {
    await freshDb.query('CREATE TABLE public.per_user_day (user_id uuid NOT NULL, day date NOT NULL, n int)');
    await freshDb.query('CREATE TABLE public.owned_things (owner uuid REFERENCES auth.users(id), label text)');
    expect(await uncovered(freshDb)).toEqual(['public.owned_things.owner', 'public.per_user_day.user_id']);
    await freshDb.query(
      `INSERT INTO public.erasure_targets (table_schema, table_name, column_name) VALUES ('public', 'per_user_day', 'user_id'), ('public', 'owned_things', 'owner')`,
    );
    expect(await uncovered(freshDb)).toEqual([]);

    // And erase_user_rows() then erases them: the registry is what it acts on.
    const user = await createUser(freshDb);
    await freshDb.query(`INSERT INTO public.per_user_day VALUES ($1, current_date, 3)`, [user]);
    await freshDb.query(`INSERT INTO public.owned_things VALUES ($1, 'x')`, [user]);
    const { rows } = await freshDb.query('SELECT public.erase_user_rows(NULL, $1) AS deleted', [user]);
    expect(rows[0].deleted).toMatchObject({ 'public.per_user_day': 1, 'public.owned_things': 1, 'auth.users': 1 });
    const left = await freshDb.query(
      'SELECT (SELECT count(*) FROM public.per_user_day WHERE user_id = $1)::int + (SELECT count(*) FROM public.owned_things WHERE owner = $1)::int AS n',
      [user],
    );
    expect(left.rows[0].n).toBe(0);
  });
});
