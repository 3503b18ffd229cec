// Migrations and seeds against fresh databases: a second run is a no-op, the journal is queryable
// with the guide's §1A statement, and every view answers with zero rows on an empty database.
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate, readSqlFiles, seed } from '../../scripts/lib/migrate';
import { guideShell } from '../support/guide';
import { connect, freshDatabase } from '../support/pg';

const VIEWS = [
  'vw_discovery_queue_health',
  'vw_dead_letter_queue',
  'vw_events_queue_health',
  'vw_policy_health',
  'vw_slo_burnrate',
  'vw_kernel_slos',
];

const dbs: { drop(): Promise<void> }[] = [];
async function emptyDatabase(): Promise<string> {
  const d = await freshDatabase({ migrate: false });
  dbs.push(d);
  return d.url;
}
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

/** A fingerprint of everything the seeds touch, to prove a re-run changes nothing. */
async function fingerprint(db: pg.Client): Promise<string> {
  const tables = [
    'public.feature_flags',
    'public.interest_catalog',
    'public.marketplace_categories',
    'public.marketplace_interest_map',
    'public.marketplace_candidates',
    'auth.users',
    'public.retention_policies',
    'public.slo_targets',
  ];
  const parts = [];
  for (const t of tables) {
    const { rows } = await db.query(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${t} x`);
    parts.push(`${t}:${rows[0].h}`);
  }
  return parts.join(',');
}

describe('migrations', () => {
  it('apply once, then a second run applies nothing and changes nothing', async () => {
    const url = await emptyDatabase();
    const files = await readSqlFiles(MIGRATIONS_DIR);
    const first = await migrate(url);
    expect(first.applied).toEqual(files.map((f) => f.file));
    const second = await migrate(url);
    expect(second).toEqual({ applied: [], skipped: files.length });
  });

  it('journal answers the guide §1A verification query', async () => {
    const url = await emptyDatabase();
    await migrate(url);
    const shell = guideShell('A. Database Migrations').join('\n');
    const sql = /-c "([^"]+)"/.exec(shell)![1]!;
    const db = await connect(url);
    try {
      const { rows } = await db.query(sql);
      const files = await readSqlFiles(MIGRATIONS_DIR);
      expect(rows.map((r) => r.version)).toEqual(
        files
          .map((f) => f.version)
          .reverse()
          .slice(0, 10),
      );
      expect(rows.every((r) => typeof r.name === 'string' && r.name.length > 0)).toBe(true);
    } finally {
      await db.end();
    }
  });

  it('refuse to run when an applied migration was edited', async () => {
    const url = await emptyDatabase();
    await migrate(url);
    const db = await connect(url);
    await db.query("UPDATE supabase_migrations.schema_migrations SET checksum = 'edited' WHERE version = '0002'");
    await db.end();
    await expect(migrate(url)).rejects.toThrow(/0002_core_tables\.sql was changed/);
  });

  it('concurrent runs apply each migration exactly once', async () => {
    const url = await emptyDatabase();
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    const files = await readSqlFiles(MIGRATIONS_DIR);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(files.map((f) => f.file).sort());
  });

  it('every view returns zero rows (not an error) on an empty database', async () => {
    const url = await emptyDatabase();
    await migrate(url);
    const db = await connect(url);
    try {
      for (const v of VIEWS) {
        const { rows } = await db.query(`SELECT * FROM public.${v}`);
        expect(rows, v).toEqual([]);
      }
    } finally {
      await db.end();
    }
  });
});

describe('seeds', () => {
  it('a second run changes nothing, and never overwrites a flag an operator changed', async () => {
    const url = await emptyDatabase();
    await migrate(url);
    await seed(url);
    const db = await connect(url);
    try {
      await db.query(`UPDATE public.feature_flags SET value = '{"enabled": true}'::jsonb WHERE key = 'global.safe_mode'`);
      const before = await fingerprint(db);
      await seed(url);
      expect(await fingerprint(db)).toBe(before);
      const { rows } = await db.query(`SELECT value FROM public.feature_flags WHERE key = 'global.safe_mode'`);
      expect(rows[0].value).toEqual({ enabled: true });
    } finally {
      await db.end();
    }
  });
});
