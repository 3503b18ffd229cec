// npm run dev — the whole stack on this machine:
//   embedded Postgres (child process; skipped when DATABASE_URL is set) → migrations → seeds →
// npm run dev — the whole stack on this machine:
//   embedded Postgres (child process; skipped when DATABASE_URL is set) → migrations → seeds →
//   WebSocket proxy (for the Neon driver; skipped for *.neon.tech) → wrangler dev --test-scheduled
//   → the Cron Triggers of wrangler.toml, fired on their schedule (off with --no-cron or DEV_CRON=off).
// Prints `ready http://127.0.0.1:<port> · crons on (…)` once /health answers; Ctrl-C or SIGTERM
// stops everything.
// It migrates and seeds its database, so a DATABASE_URL that is not on this machine (the RUNBOOK's
// operator shell still exported, possibly production) is refused unless --allow-remote-database.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseCli } from './lib/cli';
import { parseCron } from './lib/cron';
import { type CronScheduler, readCronTriggers, startCronScheduler, wranglerDevTrigger } from './lib/cron-scheduler';
import { DEFAULT_API_PORT, DEFAULT_PG_PORT, DEFAULT_PROXY_PORT, fail, ROOT, readDotVars } from './lib/env';
import { migrate, seed } from './lib/migrate';
import { type PgChild, portInUse, startPgChild } from './lib/pg-child';
import { describeDatabase, isLocalDatabase } from './lib/target';
import { startWsProxy, type WsProxy } from './lib/ws-proxy';

const USAGE = `usage: npm run dev [-- [--no-cron] [--allow-remote-database]]
  The whole stack on this machine: embedded Postgres (skipped when DATABASE_URL is set), migrations, seeds,
  the WebSocket proxy, wrangler dev, and the Cron Triggers of wrangler.toml on their schedule (--no-cron or
  DEV_CRON=off: none). Prints \`ready http://127.0.0.1:<port> · crons on (…)\`; Ctrl-C stops everything.
  PORT (8787), PG_PORT (54329), NEON_WS_PROXY_PORT (54330), PG_DATA_DIR (.data/pg), DEV_STATE_DIR (.wrangler/state),
  INSPECTOR_PORT (9229).
  A DATABASE_URL that is not on this machine is refused: dev migrates and seeds it. Unset it, or pass
  --allow-remote-database when you mean that database (a Neon dev branch).`;

const { values: cli } = parseCli(
  { options: { 'allow-remote-database': { type: 'boolean', default: false }, 'no-cron': { type: 'boolean', default: false } } },
  USAGE,
);
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

// Crons as in production unless turned off. Parsed now, so an expression we cannot honour stops
// the start instead of never firing.
const cronsOn = !cli['no-cron'] && !/^(off|0|false|no)$/i.test(process.env.DEV_CRON ?? '');
const crons = readCronTriggers(path.join(ROOT, 'wrangler.toml'));
if (cronsOn) {
  try {
    for (const c of crons) parseCron(c);
  } catch (err) {
    fail(`wrangler.toml: ${(err as Error).message}`);
  }
}
// TEST ONLY (test/integration/dev-stack-crons.test.ts): these crons of wrangler.toml fire every
// minute, so a test sees the */5 rollup within a minute. `;`-separated; unset in real use.
const everyMinute = (process.env.DEV_CRON_TEST_EVERY_MINUTE ?? '')
  .split(';')
  .map((c) => c.trim())
  .filter(Boolean);
for (const c of everyMinute) if (!crons.includes(c)) fail(`DEV_CRON_TEST_EVERY_MINUTE: "${c}" is not a cron of wrangler.toml`);

let pg: PgChild | undefined;
let proxy: WsProxy | undefined;
let wrangler: ChildProcess | undefined;
let scheduler: CronScheduler | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    scheduler?.stop();
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
  // Wrangler's DevTools inspector takes 9229, or a random port when that is taken (by a second
  // stack): such a port can collide with this stack's own proxy port. Tests running stacks side by
  // side give each its own.
  if (process.env.INSPECTOR_PORT) args.push('--inspector-port', process.env.INSPECTOR_PORT);
  // Local KV, Queue and Durable Object state (wrangler's default: .wrangler/state). A stack on a
  // throwaway database wants throwaway state too, or KV keeps flags from another database.
  if (process.env.DEV_STATE_DIR) args.push('--persist-to', path.resolve(ROOT, process.env.DEV_STATE_DIR));
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
        if (cronsOn) {
          scheduler = startCronScheduler({ crons, everyMinute, trigger: wranglerDevTrigger(base), log: (l) => console.log(l) });
        }
        const cronNote = cronsOn
          ? `crons on (${crons.join(', ')}; UTC)${everyMinute.length ? ` [TEST ONLY: every minute: ${everyMinute.join(', ')}]` : ''}`
          : 'crons off (--no-cron / DEV_CRON=off): trigger one with /__scheduled?cron=…';
        console.log(`ready ${base} · ${cronNote}`);
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
