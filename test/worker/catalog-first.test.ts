// Catalog first (migration 0730): with the database-level search_path back to the default,
// unqualified catalog names resolve to pg_catalog for every role the system uses — even after
// objects named now(), pg_policies and pg_stat_activity are created in public (the CVE-2018-1058
// pattern 0006's "$user", public, pg_catalog invited). Checked through the Worker's own database
// client (the Neon driver, DATABASE_URL's role, as requests and cron jobs connect), and as each API
// role the way the code switches to it (SET LOCAL ROLE, as withUserTransaction does).
import { describe, expect, it } from 'vitest';
import { useFreshWorkerDatabase } from './fresh-db';

const fresh = useFreshWorkerDatabase();

const SHADOWS = `
  CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT timestamptz '1999-01-01 00:00:00+00' $$;
  CREATE VIEW public.pg_stat_activity AS SELECT 'shadow'::text AS shadow;
  CREATE VIEW public.pg_policies AS SELECT 'shadow'::text AS shadow;
  GRANT SELECT ON public.pg_stat_activity, public.pg_policies TO PUBLIC;`;

const RESOLUTION = `
  SELECT current_user::text AS role,
         now() > timestamptz '2000-01-01 00:00:00+00' AS now_is_the_clock,
         to_regprocedure('now()') = 'pg_catalog.now()'::regprocedure AS now_is_catalog,
         to_regclass('pg_policies') = 'pg_catalog.pg_policies'::regclass AS pg_policies_is_catalog,
         to_regclass('pg_stat_activity') = 'pg_catalog.pg_stat_activity'::regclass AS pg_stat_activity_is_catalog,
         (current_schemas(true))[1] AS first_schema`;

describe('catalog first', () => {
  it('the database and every role keep the default search_path (no setting anywhere puts public first)', async () => {
    const settings = await fresh.db.query<{ setting: string }>(
      `SELECT c AS setting FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) c
       WHERE s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
         AND c LIKE 'search_path=%'`,
    );
    expect(settings).toEqual([]);
    const [row] = await fresh.db.query<{ search_path: string }>('SELECT current_setting($1) AS search_path', ['search_path']);
    expect(row!.search_path).toBe('"$user", public');
  });

  it('now(), pg_policies and pg_stat_activity resolve to pg_catalog for every role, public shadows notwithstanding', async () => {
    await fresh.db.pool.query(SHADOWS);
    // The shadows exist and work when named: only the unqualified lookup must not find them.
    const [shadow] = await fresh.db.query<{ now: Date; shadow: string }>(
      'SELECT public.now() AS now, (SELECT shadow FROM public.pg_stat_activity) AS shadow',
    );
    expect(shadow).toEqual({ now: new Date('1999-01-01T00:00:00Z'), shadow: 'shadow' });

    const [{ role: workerRole }] = (await fresh.db.query<{ role: string }>('SELECT session_user::text AS role')) as [{ role: string }];
    const roles = [...new Set([workerRole, 'postgres', 'service_role', 'authenticated', 'anon'])];
    const seen = [];
    for (const role of roles) {
      const client = await fresh.db.pool.connect();
      try {
        await client.query('BEGIN');
        if (role !== workerRole) await client.query(`SET LOCAL ROLE ${role}`);
        const { rows } = await client.query(RESOLUTION);
        // And they are used as the catalog's: columns the shadows do not have.
        const activity = await client.query('SELECT pid FROM pg_stat_activity WHERE pid = pg_backend_pid()');
        const policies = await client.query(
          "SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = 'user_interests'",
        );
        seen.push({ ...rows[0], own_backend_listed: activity.rows.length === 1, policies: policies.rows.length > 0 });
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    }
    expect(seen).toEqual(
      roles.map((role) => ({
        role,
        now_is_the_clock: true,
        now_is_catalog: true,
        pg_policies_is_catalog: true,
        pg_stat_activity_is_catalog: true,
        first_schema: 'pg_catalog',
        own_backend_listed: true,
        policies: true,
      })),
    );
  });
});
