// A private database for a worker test that needs exact results (or runs whole-database jobs such
// as the relay or the queue-worker) without touching rows of test files running in parallel:
// cloned from the migrated + seeded template the global setup prepared. Call the Worker with
// `fresh.env` (e.g. worker.fetch(req, fresh.env, ctx)) to point it at this database.
// Messages the Worker sends still go to the real queues, whose consumer uses the shared database.
import { env } from 'cloudflare:test';
import { inject } from 'vitest';
import { createDb, type Db } from '../../src/db/client';
import { createLogger } from '../../src/observability/logger';
import { testDb } from './support';

export interface FreshDatabase {
  url: string;
  env: Env;
  db: Db;
  drop(): Promise<void>;
}

export async function freshWorkerDatabase(): Promise<FreshDatabase> {
  const name = `tw_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = testDb();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  } finally {
    await admin.end();
  }
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${name}`;
  const freshEnv = { ...env, DATABASE_URL: url.toString() } as Env;
  const db = createDb(freshEnv, createLogger({ test: true, db: name }));
  return {
    url: url.toString(),
    env: freshEnv,
    db,
    async drop() {
      await db.end();
      const a = testDb();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
