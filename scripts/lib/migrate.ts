// Applies migrations/*.sql in version order, once each, recording them in
// supabase_migrations.schema_migrations (the journal the guide's §1A query reads).
// Safe to run concurrently (advisory lock) and against any Postgres, Neon included.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { flagSeedSql } from '../../src/flags/registry';

const LOCK_KEY = 7_245_119_001; // arbitrary, constant: serialises concurrent migrate runs
export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');
export const SEEDS_DIR = path.resolve(import.meta.dirname, '../../seeds');

export interface SqlFile {
  version: string;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

/** `0003_functions.sql` → version `0003`, name `functions`. */
export async function readSqlFiles(dir: string): Promise<SqlFile[]> {
  const names = (await readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    names.map(async (file) => {
      const sql = await readFile(path.join(dir, file), 'utf8');
      const [, version = '', name = ''] = /^(\d+)_([\w-]+)\.sql$/.exec(file)!;
      return { version, name, file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * application_name names the session in pg_stat_activity and in the ledger rows the database's
 * own triggers write (a seeded flag or rate limit is recorded as made by `edge-seed`).
 */
async function withClient<T>(databaseUrl: string, applicationName: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface MigrateResult {
  applied: string[];
  skipped: number;
}

export async function migrate(databaseUrl: string, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const files = await readSqlFiles(dir);
  return withClient(databaseUrl, 'edge-migrate', async (c) => {
    await c.query('SET client_min_messages = warning');
    await c.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await c.query(`
        CREATE SCHEMA IF NOT EXISTS supabase_migrations;
        CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
          version    text PRIMARY KEY,
          name       text NOT NULL,
          checksum   text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        );`);
      const { rows } = await c.query<{ version: string; checksum: string }>(
        'SELECT version, checksum FROM supabase_migrations.schema_migrations',
      );
      const done = new Map(rows.map((r) => [r.version, r.checksum]));
      const applied: string[] = [];
      for (const f of files) {
        const previous = done.get(f.version);
        if (previous !== undefined) {
          if (previous !== f.checksum) {
            throw new Error(`migration ${f.file} was changed after it was applied; add a new migration instead`);
          }
          continue;
        }
        await c.query('BEGIN');
        try {
          await c.query(f.sql);
          await c.query('INSERT INTO supabase_migrations.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
            f.version,
            f.name,
            f.checksum,
          ]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK');
          throw new Error(`migration ${f.file} failed: ${(err as Error).message}`);
        }
        applied.push(f.file);
      }
      return { applied, skipped: files.length - applied.length };
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]);
    }
  });
}

/** The seed generated from the flag registry (src/flags/registry.ts), ordered before seeds/0002_*. */
export const FLAG_SEED: Pick<SqlFile, 'file' | 'sql'> = { file: 'feature flags (src/flags/registry.ts)', sql: flagSeedSql() };

/**
 * Seeds are idempotent SQL (ON CONFLICT DO NOTHING); every run applies all of them: the flags from
 * the registry first, then seeds/*.sql in order.
 */
export async function seed(databaseUrl: string, dir = SEEDS_DIR): Promise<string[]> {
  const files = [FLAG_SEED, ...(await readSqlFiles(dir))];
  return withClient(databaseUrl, 'edge-seed', async (c) => {
    for (const f of files) {
      await c.query('BEGIN');
      try {
        await c.query(f.sql);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK');
        throw new Error(`seed ${f.file} failed: ${(err as Error).message}`);
      }
    }
    return files.map((f) => f.file);
  });
}
