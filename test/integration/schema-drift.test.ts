// The drizzle schema (what the code queries) must match the migrated database column for column.
import { getTableColumns, getTableName, is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../../src/db/schema';
import { connect } from '../support/pg';

let db: pg.Client;
beforeAll(async () => {
  db = await connect();
});
afterAll(async () => {
  await db.end();
});

const tables = (Object.values(schema) as unknown[]).filter((t): t is PgTable => is(t, PgTable));

describe('drizzle schema vs database', () => {
  it.each(tables.map((t) => [`${getTableConfig(t).schema ?? 'public'}.${getTableName(t)}`, t] as const))('%s', async (_name, table) => {
    const { schema: schemaName = 'public', name } = getTableConfig(table);
    const { rows } = await db.query(
      `SELECT column_name, udt_name, is_nullable FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name`,
      [schemaName, name],
    );
    expect(rows.length, `table ${schemaName}.${name} exists`).toBeGreaterThan(0);
    const db_ = Object.fromEntries(rows.map((r) => [r.column_name, { type: r.udt_name, nullable: r.is_nullable === 'YES' }]));
    const code = Object.fromEntries(
      Object.values(getTableColumns(table)).map((c) => [
        c.name,
        {
          type: c
            .getSQLType()
            .replace(/\(.*\)/, '')
            .replace(/ with time zone/, ''),
          nullable: !c.notNull && !c.primary,
        },
      ]),
    );
    expect(Object.keys(code).sort()).toEqual(Object.keys(db_).sort());
    const pgType: Record<string, string> = {
      text: 'text',
      uuid: 'uuid',
      jsonb: 'jsonb',
      boolean: 'bool',
      integer: 'int4',
      bigint: 'int8',
      real: 'float4',
      'double precision': 'float8',
      timestamp: 'timestamptz',
      interval: 'interval',
      'bigint[]': '_int8',
      'text[]': '_text',
    };
    for (const [col, c] of Object.entries(code)) {
      expect(pgType[c.type] ?? c.type, `${name}.${col} type`).toBe(db_[col]!.type);
      expect(c.nullable, `${name}.${col} nullable`).toBe(db_[col]!.nullable);
    }
  });
});
