// A private world for flag tests: the flags are global (one global.safe_mode for everybody), and
// the test database is shared by every test file running in parallel, so flipping them there
// would flip them under other files' feet. Each flag test file gets its own freshly migrated and
// seeded database (created from inside workerd through the same Neon driver the Worker uses)
// and drives the real Worker (fetch + scheduled) with an env that points at it.
// KV is already private per test file (vitest-pool-workers).
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import { resetFlagCache } from '../../src/flags';
import { FLAG_KEYS } from '../../src/flags/definitions';
import { flagSeedSql } from '../../src/flags/registry';
import worker from '../../src/index';
import { createLogger } from '../../src/observability/logger';
import { BASE, type TestDb as Db, testDb, testDbFor } from './support';

const migrations = import.meta.glob<string>('../../migrations/*.sql', { query: '?raw', import: 'default', eager: true });
const seeds = import.meta.glob<string>('../../seeds/*.sql', { query: '?raw', import: 'default', eager: true });
const inOrder = (files: Record<string, string>) =>
  Object.keys(files)
    .sort()
    .map((f) => files[f]!);

/** The application_name of the Worker's connections, so tests can count them (see countWorkerLogins). */
export const WORKER_APP = 'edge-worker-under-test';

export interface FlagsWorld {
  env: Env;
  /** The test's own handle on the private database. */
  db: Db;
  fetch(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; json: any; res: Response }>;
  /** Run the per-minute cron ('* * * * *') through the Worker's scheduled() handler. */
  cron(): Promise<void>;
  /** Seed values in Postgres, no sync history, empty KV, cold isolate cache. */
  reset(): Promise<void>;
  /** Ledger rows for a flag written after row id `after`. */
  ledger(
    key: string,
    after: number,
  ): Promise<{ id: string; actor: string; action: string; old_value: unknown; new_value: unknown; reason: string | null; metadata: any }[]>;
  lastLedgerId(): Promise<number>;
  drop(): Promise<void>;
}

export async function flagsWorld(): Promise<FlagsWorld> {
  const name = `t_flags_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = testDb();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(env.DATABASE_URL);
  url.pathname = `/${name}`;
  const db = testDbFor({ ...env, DATABASE_URL: url.toString() }, createLogger({ test: 'flags' }));
  await db.query('SET client_min_messages = warning');
  for (const sql of inOrder(migrations)) await db.pool.query(sql);
  for (const sql of [flagSeedSql(), ...inOrder(seeds)]) await db.pool.query(sql);
  url.searchParams.set('application_name', WORKER_APP);
  const worldEnv: Env = { ...env, DATABASE_URL: url.toString() };

  return {
    env: worldEnv,
    db,
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`${BASE}${path}`, { ...init, headers, body }), worldEnv, ctx);
      const text = await res.text();
      await waitOnExecutionContext(ctx);
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, json, res };
    },
    async cron() {
      const ctx = createExecutionContext();
      // Other features' per-minute jobs run too; only a failure of the flag sync fails these tests.
      await worker
        .scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), worldEnv, ctx)
        .catch((err: Error) => {
          if (/flag-sync/.test(err.message)) throw err;
        });
      await waitOnExecutionContext(ctx);
    },
    async reset() {
      await db.query('DELETE FROM public.feature_flags');
      for (const sql of [flagSeedSql(), ...inOrder(seeds)]) await db.pool.query(sql);
      await db.query('DELETE FROM public.feature_flag_sync');
      await Promise.all(FLAG_KEYS.map((k) => env.FLAGS.delete(k)));
      resetFlagCache();
    },
    ledger: (key, after) =>
      db.query(
        `SELECT id, actor, action, old_value, new_value, reason, metadata FROM public.ai_action_ledger
       WHERE target = $1 AND id > $2 ORDER BY id`,
        [key, after],
      ),
    async lastLedgerId() {
      const [row] = await db.query<{ id: string | null }>('SELECT max(id) AS id FROM public.ai_action_ledger');
      return Number(row?.id ?? 0);
    },
    async drop() {
      await db.end();
      const a = testDb();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * Register the hooks of a flag test file: a private world for the file (after `setup`, e.g.
 * extra SQL), and before each test: real clock, no spies, seed values, KV filled by one sync.
 * Returns the world, usable from the first hook on.
 */
export function useFlagsWorld(setup?: (w: FlagsWorld) => Promise<void>): FlagsWorld {
  const holder = {} as FlagsWorld;
  beforeAll(async () => {
    Object.assign(holder, await flagsWorld());
    await setup?.(holder);
  });
  afterAll(() => holder.drop());
  beforeEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    await holder.reset();
    await holder.cron(); // first sync: KV gets the seeded values
  });
  return holder;
}
