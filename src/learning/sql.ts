// The smallest database surface the learning code needs, so the same statements run from the
// Worker (Neon driver), from integration tests and from benchmarks (node-postgres).
/** Runs one statement and returns its rows (the Worker's Db.query already has this shape). */
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
