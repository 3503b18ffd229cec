// The Worker's database interface (a drizzle Db, src/db/client.ts) over node-postgres, so scripts,
// benchmarks and integration tests run the same feature queries as the Worker.
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import * as schema from '../../src/db/schema';
import type { Executor as Db } from '../../src/db/sql';

export function pgDb(client: pg.Client | pg.PoolClient | pg.Pool): Db {
  return drizzle({ client, schema }) as unknown as Db;
}
