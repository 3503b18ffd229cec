// Where a user id could be, looked for everywhere: every text-like column of every table (not a
// list of the tables we know), every key and value of every KV namespace, and the user's
// RateLimiter object. Used by the erasure tests to prove "nothing left".
import { env, runInDurableObject } from 'cloudflare:test';
import type { TestDb } from './support';

/** "schema.table.column: n" for every column whose text contains `needle` (case-insensitive). */
export async function rowsMentioning(db: TestDb, needle: string): Promise<string[]> {
  const cols = await db.query<{ s: string; t: string; c: string }>(
    `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c
       FROM information_schema.columns c
       JOIN information_schema.tables t
         ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
      WHERE c.table_schema IN ('public', 'auth', 'supabase_migrations')
        AND c.data_type IN ('uuid', 'text', 'character varying', 'jsonb', 'json', 'ARRAY')`,
  );
  const found: string[] = [];
  for (const { s, t, c } of cols) {
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${s}"."${t}" WHERE lower("${c}"::text) LIKE $1`, [
      `%${needle.toLowerCase()}%`,
    ]);
    if (row!.n > 0) found.push(`${s}.${t}.${c}: ${row!.n}`);
  }
  return found;
}

/** "BINDING key" for every KV entry whose key or value contains `needle`. */
export async function kvMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const [name, kv] of [
    ['FLAGS', env.FLAGS],
    ['FEATURES', env.FEATURES],
    ['LIMITS', env.LIMITS],
  ] as const) {
    let cursor: string | undefined;
    do {
      const page = await kv.list({ cursor });
      for (const k of page.keys) {
        const value = (await kv.get(k.name)) ?? '';
        if (k.name.includes(needle) || value.includes(needle)) found.push(`${name} ${k.name}`);
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
  }
  return found;
}

/** What the user's RateLimiter object stores: its tables' rows and whether an alarm is set. */
export async function limiterState(userId: string): Promise<{ rows: number; tables: string[]; alarm: boolean }> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`user:${userId}`));
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((r) => r.name);
    let rows = 0;
    for (const t of tables) rows += state.storage.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${t}"`).one().n;
    return { rows, tables, alarm: (await state.storage.getAlarm()) !== null };
  });
}
