// The one way to run SQL that is not plain CRUD (the guide's functions, CTE rollups, unnest batch
// inserts): a drizzle `sql` template run on any executor (the Worker's Neon pool, a transaction,
// or node-postgres in tests and benchmarks), with every result row CHECKED by a zod schema —
// never asserted. A row that does not match is a bug in the query or the schema, reported with
// the query's label and the first mismatch, not silently passed on as a wrong type.
//
// Value shapes as the drivers return them through drizzle: int8/numeric as strings, timestamptz
// and date as Postgres text (drizzle keeps them unparsed), json/jsonb parsed. The `col` helpers
// below turn those into what the code uses.
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import type * as schema from './schema';

/** Anything that runs drizzle SQL: a database on either driver, or a transaction (a PgDatabase too). */
export type Executor = PgDatabase<PgQueryResultHKT, typeof schema>;

/** What feature code receives as its database (the Worker's Neon pool, a transaction, node-postgres). */
export type Db = Executor;

export class RowShapeError extends Error {
  constructor(label: string, issues: string) {
    super(`unexpected row shape from ${label}: ${issues}`);
    this.name = 'RowShapeError';
  }
}

async function rawRows(exec: Executor, query: SQL): Promise<unknown[]> {
  const result = (await exec.execute(query)) as unknown as { rows: unknown[] };
  return result.rows;
}

/** Run `query` and return its rows, each checked against `row`. */
export async function queryRows<S extends z.ZodType>(exec: Executor, label: string, row: S, query: SQL): Promise<z.output<S>[]> {
  const rows = await rawRows(exec, query);
  const out: z.output<S>[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const parsed = row.safeParse(rows[i]);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new RowShapeError(label, `row ${i}: ${first ? `${first.path.join('.') || '(row)'}: ${first.message}` : 'invalid'}`);
    }
    out[i] = parsed.data;
  }
  return out;
}

/** Exactly one row (aggregates, RETURNING of a single upsert); anything else is a bug. */
export async function queryOne<S extends z.ZodType>(exec: Executor, label: string, row: S, query: SQL): Promise<z.output<S>> {
  const rows = await queryRows(exec, label, row, query);
  if (rows.length !== 1) throw new RowShapeError(label, `expected 1 row, got ${rows.length}`);
  return rows[0]!;
}

/** At most one row. */
export async function queryMaybe<S extends z.ZodType>(exec: Executor, label: string, row: S, query: SQL): Promise<z.output<S> | undefined> {
  const rows = await queryRows(exec, label, row, query);
  if (rows.length > 1) throw new RowShapeError(label, `expected at most 1 row, got ${rows.length}`);
  return rows[0];
}

/** A statement whose rows nobody reads (DDL-free writes, set_config, locks). */
export async function execute(exec: Executor, query: SQL): Promise<void> {
  await exec.execute(query);
}

/** Run fn in one transaction on a dedicated connection (BEGIN … COMMIT, ROLLBACK on throw). */
export function transaction<T>(exec: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return exec.transaction((tx) => fn(tx as unknown as Executor));
}

const toIso = (v: string | Date): string => (v instanceof Date ? v : new Date(v)).toISOString();
const toDate = (v: string | Date): Date => (v instanceof Date ? v : new Date(v));

/** Column shapes for row schemas, named after the Postgres type they read. */
export const col = {
  /** int2/int4/float4/float8 arrive as numbers; int8 and numeric as strings: both become numbers. */
  number: z.union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i)
      .transform(Number),
  ]),
  /** timestamptz (text from drizzle, Date from other paths) → ISO 8601 string. */
  isoTime: z.union([z.string(), z.date()]).transform(toIso),
  /** timestamptz → Date. */
  date: z.union([z.string(), z.date()]).transform(toDate),
  text: z.string(),
  uuid: z.string(),
  bool: z.boolean(),
  /** json/jsonb: any parsed JSON value. */
  json: z.unknown(),
} as const;

/** Nullable variants: `nullable.isoTime` etc. */
export const nullable = {
  number: col.number.nullable(),
  isoTime: col.isoTime.nullable(),
  date: col.date.nullable(),
  text: z.string().nullable(),
  uuid: z.string().nullable(),
  bool: z.boolean().nullable(),
} as const;

/** One round trip (health checks). */
export async function pingDatabase(exec: Executor): Promise<void> {
  await exec.execute('SELECT 1');
}
