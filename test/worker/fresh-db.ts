// A private database for a worker test file that needs exact results (or runs whole-database jobs
// such as the relay or the queue-worker) without touching rows of test files running in parallel:
// cloned from the migrated + seeded template the global setup prepared.
//   const fresh = useFreshWorkerDatabase();      // at file level: clone before, drop after
//   await fresh.db.query(…); await fresh.fetch('/functions/v1/…', { method: 'POST', json: {…} });
// Messages the Worker sends still go to the real queues, whose consumer uses the shared database.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, beforeAll, inject } from 'vitest';
import worker from '../../src/index';
import { createLogger } from '../../src/observability/logger';
import { cloneDatabaseStatements } from '../support/clone-database';
import { BASE, type TestDb as Db, serviceHeaders, testDb, testDbFor } from './support';

export interface FreshDatabase {
  url: string;
  /** The Worker's env pointed at this database. */
  env: Env;
  db: Db;
  /** The Worker's fetch() against this database (service key by default); JSON in and out. */
  fetch(path: string, init?: { method?: string; json?: unknown; headers?: Record<string, string> }): Promise<{ status: number; json: any }>;
  drop(): Promise<void>;
}

export async function freshWorkerDatabase(): Promise<FreshDatabase> {
  const name = `tw_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const url = new URL(env.DATABASE_URL);
  const admin = testDb();
  try {
    for (const statement of cloneDatabaseStatements(name, inject('templateDatabase'), url.pathname.slice(1))) await admin.query(statement);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  const freshEnv = { ...env, DATABASE_URL: url.toString() } as Env;
  const db = testDbFor(freshEnv, createLogger({ test: true, db: name }));
  return {
    url: url.toString(),
    env: freshEnv,
    db,
    async fetch(path, init = {}) {
      const headers: Record<string, string> = { ...serviceHeaders(), ...init.headers };
      if (init.json !== undefined) headers['content-type'] = 'application/json';
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}${path}`, {
          method: init.method ?? 'GET',
          headers,
          body: init.json === undefined ? undefined : JSON.stringify(init.json),
        }),
        freshEnv,
        ctx,
      );
      const text = await res.text(); // before waiting on the context: a streamed body is written from waitUntil
      await waitOnExecutionContext(ctx);
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
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

/** A private database for this test file: cloned before its tests, dropped after. */
export function useFreshWorkerDatabase(): FreshDatabase {
  let current: FreshDatabase | undefined;
  beforeAll(async () => {
    current = await freshWorkerDatabase();
  }, 60_000);
  afterAll(async () => {
    await current?.drop();
  });
  const ready = () => {
    if (!current) throw new Error('the fresh database exists only inside tests');
    return current;
  };
  return {
    get url() {
      return ready().url;
    },
    get env() {
      return ready().env;
    },
    get db() {
      return ready().db;
    },
    fetch: (path, init) => ready().fetch(path, init),
    drop: () => ready().drop(),
  };
}
