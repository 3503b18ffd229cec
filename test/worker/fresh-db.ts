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

export interface FreshDb {
  url: string;
  env: Env;
  db: Db;
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
  const db = createDb(freshEnv, log);
  for (const sql of [...ordered(migrations), ...ordered(seeds)]) await db.query(sql);
  return {
    url: url.toString(),
    env: freshEnv,
    db,
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
