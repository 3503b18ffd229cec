// The drizzle schema: the single description of the tables the code queries, one file per area.
// The SQL in migrations/ is the source of truth (it also holds functions, views, RLS);
// test/integration/schema-drift.test.ts fails when the two disagree on a column.
export * from './core';
export * from './influence';
export * from './learning';
export * from './ope';
export * from './operations';
export * from './privacy';
export * from './queues';
