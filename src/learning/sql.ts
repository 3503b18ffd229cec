// The smallest database surface the learning code needs, so the same statements run from the
// Worker (Neon driver), from integration tests and from benchmarks (node-postgres).
import type { Db } from '../db/client';

/** Runs one statement and returns its rows (Db.query already has this shape). */
export interface SqlRunner {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/** Anything with node-postgres' `query(text, params) → {rows}` (pg.Client, Neon PoolClient). */
export interface PgLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

export function fromPg(client: PgLike): SqlRunner {
  return {
    async query<T>(text: string, params?: unknown[]) {
      return (await client.query(text, params)).rows as T[];
    },
  };
}

/**
 * Run fn on one dedicated connection inside BEGIN … COMMIT (ROLLBACK on error). Db.query may use
 * a different pooled connection per call, so transactions must hold a client.
 */
export async function withConnection<T>(db: Db, fn: (conn: SqlRunner) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    return await fn(fromPg(client));
  } finally {
    client.release();
  }
}

export async function inTransaction<T>(conn: SqlRunner, fn: () => Promise<T>): Promise<T> {
  await conn.query('BEGIN');
  try {
    const out = await fn();
    await conn.query('COMMIT');
    return out;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
