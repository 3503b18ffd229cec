// Direct connections to the test database (integration tests), as the operator's psql would.
import pg from 'pg';
import { inject } from 'vitest';
import { cloneDatabaseStatements } from './clone-database';

export async function connect(url = inject('databaseUrl')): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A fresh, random UUID user row in auth.users (tests never share users, so files run in parallel). */
export async function createUser(client: pg.Client, email?: string): Promise<string> {
  const id = crypto.randomUUID();
  await client.query('INSERT INTO auth.users (id, email) VALUES ($1, $2)', [id, email ?? `${id}@test.local`]);
  return id;
}

/** Run fn as role `authenticated` with the given user's claims, inside a rolled-back transaction. */
export async function asUser<T>(client: pg.Client, userId: string, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: userId, role: 'authenticated' })]);
    await client.query('SET LOCAL ROLE authenticated');
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * A database of its own on the test server, for tests that need exact counts no other test file can
 * disturb: a clone of the migrated and seeded template (settings included), or, with
 * `migrate: false`, an empty one. Returns its URL and a drop() for afterAll.
 */
export async function freshDatabase(opts: { migrate?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const url = new URL(inject('databaseUrl'));
  const admin = await connect();
  try {
    const statements =
      opts.migrate === false
        ? [`CREATE DATABASE ${name}`]
        : cloneDatabaseStatements(name, inject('templateDatabase'), url.pathname.slice(1));
    for (const statement of statements) await admin.query(statement);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = await connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
