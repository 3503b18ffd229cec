// The Worker's database handle: drizzle over the Neon serverless driver, one pool per unit of work
// (request, queue batch, cron run) — never module-global; the unit ends it (src/platform/unit.ts).
// Locally the driver reaches a plain Postgres through the WebSocket proxy (NEON_WS_PROXY_PORT).
import { neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import { getConfig } from '../config';
import { errorFields, type Logger } from '../observability/logger';
import * as schema from './schema';
import type { Db } from './sql';

export type { Db };

export interface DbHandle {
  db: NeonDatabase<typeof schema> & { $client: Pool };
  /** Close the pool; idempotent. */
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

export interface DbOptions {
  /**
   * Give up on a query that has not answered after this long (the driver's query_timeout; the
   * error counts as the database being unreachable). Unset: wait as long as the unit may run.
   */
  queryTimeoutMs?: number;
}

export function createDb(env: Env, log: Logger, opts: DbOptions = {}): DbHandle {
  const config = getConfig(env);
  configureDriver(config.NEON_WS_PROXY_PORT);
  const pool = new Pool({
    connectionString: config.DATABASE_URL,
    max: 4,
    connectionTimeoutMillis: 5_000,
    ...(opts.queryTimeoutMs ? { query_timeout: opts.queryTimeoutMs } : {}),
  });
  let ended = false;
  // An idle client's connection dropping must not crash the isolate. After end(), the local
  // WebSocket proxy closing a finished connection surfaces here too: expected, not an error.
  pool.on('error', (err: Error) => {
    if (!ended) log.error('db.pool_error', errorFields(err));
  });
  return {
    db: drizzle({ client: pool, schema }),
    async end() {
      if (ended) return;
      ended = true;
      await pool.end().catch((err) => log.warn('db.end_failed', errorFields(err)));
    },
  };
}

/**
 * Run fn with a handle of its own, ended afterwards: background work that may outlive the unit
 * that started it (a refill after the response) must not share the unit's handle.
 */
export async function withDb<T>(env: Env, log: Logger, fn: (db: Db) => Promise<T>): Promise<T> {
  const handle = createDb(env, log);
  try {
    return await fn(handle.db);
  } finally {
    await handle.end();
  }
}
