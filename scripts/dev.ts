// npm run dev — the whole stack on this machine:
//   embedded Postgres (child process; skipped when DATABASE_URL is set) → migrations → seeds →
//   WebSocket proxy (for the Neon driver; skipped for *.neon.tech) → wrangler dev --test-scheduled.
// Prints `ready http://127.0.0.1:<port>` once /health answers; Ctrl-C or SIGTERM stops everything.
// It migrates and seeds its database, so a DATABASE_URL that is not on this machine (the RUNBOOK's
// operator shell still exported, possibly production) is refused unless --allow-remote-database.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseCli } from './lib/cli';
import { DEFAULT_API_PORT, DEFAULT_PG_PORT, DEFAULT_PROXY_PORT, fail, ROOT, readDotVars } from './lib/env';
import { migrate, seed } from './lib/migrate';
import { type PgChild, portInUse, startPgChild } from './lib/pg-child';
import { describeDatabase, isLocalDatabase } from './lib/target';
import { startWsProxy, type WsProxy } from './lib/ws-proxy';

const USAGE = `usage: npm run dev [-- --allow-remote-database]
  The whole stack on this machine: embedded Postgres (skipped when DATABASE_URL is set), migrations, seeds,
  the WebSocket proxy and wrangler dev. Prints \`ready http://127.0.0.1:<port>\`; Ctrl-C stops everything.
  PORT (8787), PG_PORT (54329), NEON_WS_PROXY_PORT (54330), PG_DATA_DIR (.data/pg).
  A DATABASE_URL that is not on this machine is refused: dev migrates and seeds it. Unset it, or pass
  --allow-remote-database when you mean that database (a Neon dev branch).`;

const { values: cli } = parseCli({ options: { 'allow-remote-database': { type: 'boolean', default: false } } }, USAGE);
const externalUrl = process.env.DATABASE_URL;
if (externalUrl && !isLocalDatabase(externalUrl) && !cli['allow-remote-database']) {
  fail(
    `DATABASE_URL points at ${describeDatabase(externalUrl)}, not this machine; npm run dev would migrate and seed it. ` +
      'Unset it (`unset DATABASE_URL`) for the embedded Postgres, or pass `npm run dev -- --allow-remote-database` if you mean it.',
  );
}

const devVars = path.join(ROOT, '.dev.vars');
if (!existsSync(devVars)) {
  copyFileSync(path.join(ROOT, '.dev.vars.example'), devVars);
  console.log('created .dev.vars from .dev.vars.example');
}
const vars = readDotVars(devVars);
const apiPort = Number(process.env.PORT || DEFAULT_API_PORT);
const pgPort = Number(process.env.PG_PORT || DEFAULT_PG_PORT);
const proxyPort = Number(process.env.NEON_WS_PROXY_PORT || vars.NEON_WS_PROXY_PORT || DEFAULT_PROXY_PORT);
const pgDataDir = path.resolve(ROOT, process.env.PG_DATA_DIR || '.data/pg');

let pg: PgChild | undefined;
let proxy: WsProxy | undefined;
let wrangler: ChildProcess | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (wrangler?.pid && wrangler.exitCode === null) {
      try {
        process.kill(-wrangler.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const exited = new Promise((r) => wrangler!.once('exit', r));
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      try {
        process.kill(-wrangler.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await proxy?.close();
    await pg?.stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGHUP', () => void shutdown(0));
// If whoever started us dies without passing the signal on (npm killed hard, terminal gone),
// we are re-parented: stop the stack rather than leave Postgres and workerd running.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown(0);
}, 1_000).unref();

async function main() {
  if (await portInUse(apiPort)) fail(`port ${apiPort} is in use (a previous \`npm run dev\`?); stop it or set PORT`);

  let url: string;
  if (externalUrl) {
    url = externalUrl;
    console.log(`using DATABASE_URL (${describeDatabase(url)}); no embedded Postgres`);
  } else {
    if (await portInUse(pgPort)) {
      fail(`port ${pgPort} is in use (another Postgres or a previous \`npm run dev\`?); stop it, or set DATABASE_URL to use that database`);
    }
    mkdirSync(path.dirname(pgDataDir), { recursive: true });
    try {
      pg = await startPgChild({ port: pgPort, dataDir: pgDataDir });
    } catch (err) {
      fail(`Postgres could not start on 127.0.0.1:${pgPort}: ${(err as Error).message}`);
    }
    url = pg.url;
    console.log(`postgres  ${url.replace(/:[^:@/]+@/, ':***@')} (data in ${path.relative(ROOT, pgDataDir)})`);
  }

  try {
    const { applied } = await migrate(url);
    const seeded = await seed(url);
    console.log(`migrated  ${applied.length} new migration(s); seeded ${seeded.length} file(s)`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return shutdown(1);
  }

  const neonHosted = new URL(url).hostname.endsWith('.neon.tech');
  if (!neonHosted) {
    if (await portInUse(proxyPort)) {
      console.error(`error: port ${proxyPort} (WebSocket proxy) is in use; stop it or set NEON_WS_PROXY_PORT`);
      return shutdown(1);
    }
    proxy = await startWsProxy(proxyPort);
    console.log(`ws-proxy  ws://127.0.0.1:${proxy.port}`);
  }

  const args = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(apiPort),
    '--test-scheduled',
    '--show-interactive-dev-session=false',
    '--var',
    `DATABASE_URL:${url}`,
    '--var',
    `NEON_WS_PROXY_PORT:${proxy ? proxy.port : ''}`,
  ];
  // Benchmarks serve their own entry (the production Worker plus bench-only routes).
  if (process.env.WORKER_SCRIPT) args.splice(1, 0, process.env.WORKER_SCRIPT);
  wrangler = spawn(path.join(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    detached: true, // own process group, so shutdown reaches workerd too
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  wrangler.once('exit', (code) => {
    if (!stopping) {
      console.error(`error: wrangler dev exited (code ${code})`);
      void shutdown(1);
    }
  });

  const base = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(`${base}/health`);
      if (res.status === 200 || res.status === 503) {
        if (res.status === 503)
          console.warn(`warning: /health is 503: ${JSON.stringify(((await res.json()) as { failing?: unknown }).failing)}`);
        console.log(`ready ${base}`);
        return;
      }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error('error: the Worker did not answer /health within 90 s');
  return shutdown(1);
}

main().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  void shutdown(1);
});
