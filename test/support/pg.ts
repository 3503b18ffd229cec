// Direct connections to the test database (integration tests), as the operator's psql would.
import pg from 'pg';
import { inject } from 'vitest';
import { migrate, seed } from '../../scripts/lib/migrate';

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
 * A new database on the test server, migrated (and seeded unless told not to), for tests that need
 * exact counts no other test file can disturb. Returns its URL and a drop() for afterAll.
 */
export async function freshDatabase(opts: { seed?: boolean; migrate?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = await connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  if (opts.migrate !== false) await migrate(url.toString());
  if (opts.migrate !== false && opts.seed !== false) await seed(url.toString());
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
