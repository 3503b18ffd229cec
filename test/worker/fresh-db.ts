/// <reference types="vite/client" />
// A fresh database on the test server, created and migrated from inside workerd (the migrations
// and seeds are bundled as text by Vite), for worker tests that need exact counts no other test
// file can disturb. The Worker under test is pointed at it through DATABASE_URL.
import { env } from 'cloudflare:test';
import { createDb, type Db } from '../../src/db/client';
import { createLogger } from '../../src/observability/logger';

const migrations = import.meta.glob('../../migrations/*.sql', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const seeds = import.meta.glob('../../seeds/*.sql', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const ordered = (files: Record<string, string>) => Object.keys(files).sort().map((k) => files[k]!);

const RECYCLE_MS = 15_000;

export interface FreshDb {
  url: string;
  env: Env;
  /** The test's own connection pool (reopened by query() if a connection is lost). */
  db: Db;
  /** A query that survives one dropped connection (long property runs on a loaded machine). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function freshWorkerDatabase(): Promise<FreshDb> {
  const log = createLogger({ test: 'fresh-db' });
  const name = `w_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = createDb(env, log);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${name}`;
  const freshEnv = { ...env, DATABASE_URL: url.toString() };
  let db = createDb(freshEnv, log);
  let openedAt = Date.now();
  for (const sql of [...ordered(migrations), ...ordered(seeds)]) await db.query(sql);
  const reopen = async () => {
    await db.end();
    db = createDb(freshEnv, log);
    openedAt = Date.now();
  };
  return {
    url: url.toString(),
    env: freshEnv,
    get db() {
      return db;
    },
    async query<T>(text: string, params: unknown[] = []) {
      // Long runs on a loaded machine saw pooled WebSocket connections drop after a minute or
      // two; a connection younger than RECYCLE_MS has not, so recycle before it gets there.
      if (Date.now() - openedAt > RECYCLE_MS) await reopen();
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.query<T>(text, params);
        } catch (err) {
          if (attempt >= 4) throw err;
          await reopen();
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    },
    async drop() {
      await db.end();
      const c = createDb(env, log);
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
