// Once per `vitest run`: a throwaway embedded PostgreSQL (child process, random port, temp dir),
// migrated and seeded, plus the WebSocket proxy the Worker's Neon driver connects through.
// Tests receive both through inject('databaseUrl') / inject('wsProxyPort').
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate, seed } from '../../scripts/lib/migrate';
import { freePort, startPgChild } from '../../scripts/lib/pg-child';
import { startWsProxy } from '../../scripts/lib/ws-proxy';

export default async function setup(project: TestProject) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'edge-test-pg-'));
  const pg = await startPgChild({ port: await freePort(), dataDir, ephemeral: true });
  try {
    await migrate(pg.url);
    await seed(pg.url);
    await createTemplate(pg.url);
  } catch (err) {
    await pg.stop();
    throw err;
  }
  const proxy = await startWsProxy(0);
  // A TCP port that accepts connections and never answers: proves time-bounded health checks.
  const blackhole = net.createServer(() => {}).listen(0, '127.0.0.1');
  await new Promise((r) => blackhole.once('listening', r));
  project.provide('blackholePort', (blackhole.address() as net.AddressInfo).port);
  project.provide('databaseUrl', pg.url);
  project.provide('wsProxyPort', proxy.port);
  project.provide('templateDatabase', TEMPLATE_DB);
  return async () => {
    blackhole.close();
    await proxy.close();
    await pg.stop();
  };
}

/**
 * A copy of the freshly migrated and seeded database that nobody connects to, so worker tests can
 * clone a private database from it in a moment (CREATE DATABASE … TEMPLATE; see
 * test/worker/fresh-db.ts) when they need exact results no parallel test file can disturb.
 */
const TEMPLATE_DB = 'edge_template';

async function createTemplate(url: string): Promise<void> {
  const source = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/template1'; // not the source: its own session would block the copy
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${TEMPLATE_DB} TEMPLATE ${source}`);
  } finally {
    await client.end();
  }
}
