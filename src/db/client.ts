// Per-request (or per-batch, per-cron-run) database handle over the Neon serverless driver.
// Never module-global: each unit of work builds one from env and ends it with waitUntil.
// Locally the driver reaches a plain Postgres through the WebSocket proxy (NEON_WS_PROXY_PORT).
import { neonConfig, Pool } from '@neondatabase/serverless';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import { getConfig } from '../config';
import { errorFields, type Logger } from '../observability/logger';
import * as schema from './schema';

export type Database = NeonDatabase<typeof schema>;
/** A transaction handle (same query API as Database). */
export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface Db {
  orm: Database;
  pool: Pool;
  /** Raw SQL for the guide's functions and views; rows typed by the caller. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  end(): Promise<void>;
}

let proxyPortConfigured: number | undefined;

/** Module-level driver settings depend only on deployment config, never on a request. */
function configureDriver(proxyPort: number | undefined): void {
  if (proxyPort === undefined || proxyPort === proxyPortConfigured) return;
  neonConfig.wsProxy = (host, port) => `127.0.0.1:${proxyPort}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  // Coalesced writes are sent from a timer; after the proxy drops a dead connection that timer's
  // send() becomes an uncaught exception in workerd. Locally, plain writes cost nothing.
  neonConfig.coalesceWrites = false;
  proxyPortConfigured = proxyPort;
}

export function createDb(env: Env, log: Logger): Db {
  const config = getConfig(env);
  configureDriver(config.NEON_WS_PROXY_PORT);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 4, connectionTimeoutMillis: 5_000 });
  let ended = false;
  // An idle client's connection dropping must not crash the isolate. After end(), the local
  // WebSocket proxy closing a finished connection surfaces here too: expected, not an error.
  pool.on('error', (err: Error) => {
    if (!ended) log.error('db.pool_error', errorFields(err));
  });
  return {
    orm: drizzle(pool, { schema }),
    pool,
    async query<T>(text: string, params: unknown[] = []) {
      const res = await pool.query(text, params);
      return res.rows as T[];
    },
    async end() {
      if (ended) return;
      ended = true;
      await pool.end().catch((err) => log.warn('db.end_failed', errorFields(err)));
    },
  };
}

/** Run fn with a fresh Db and close it afterwards (queue batches, cron jobs, scripts in workerd). */
export async function withDb<T>(env: Env, log: Logger, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb(env, log);
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/**
 * Run fn in a transaction as role `authenticated` with the caller's JWT claims, so Postgres RLS
 * applies to every statement — even one that forgot its WHERE user_id = ….
 */
export async function withUserTransaction<T>(
  db: Db,
  claims: { sub: string } & Record<string, unknown>,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return db.orm.transaction(async (tx) => {
    await tx.execute(sql`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`);
    await tx.execute(sql`set local role authenticated`);
    return fn(tx);
  });
}

/** The rows of a drizzle tx.execute(sql`…`) result (the driver's QueryResult). */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

export type { SQL };
