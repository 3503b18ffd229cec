// The Worker as operators run it — `wrangler dev` (workerd with local KV, Queues, crons) — on a
// random port, against a private database of the test Postgres, for tests that drive it from the
// outside (a browser, raw HTTP, cron triggers with a chosen time). Time-bounded start and stop;
// the whole process group is killed at the end, so no workerd outlives the test.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { freePort } from '../../scripts/lib/pg-child';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface WorkerDev {
  base: string;
  /** Everything wrangler/workerd printed (the Worker's JSON log lines included). */
  output(): string;
  /** Run one cron schedule now, as of `timeMs` (the Worker sees it as controller.scheduledTime). */
  cron(schedule: string, timeMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startWorkerDev(opts: {
  databaseUrl: string;
  vars: Record<string, string>;
  startTimeoutMs?: number;
}): Promise<WorkerDev> {
  const port = await freePort();
  const inspector = await freePort();
  const persist = await mkdtemp(path.join(os.tmpdir(), 'edge-wrangler-'));
  const vars = {
    DATABASE_URL: opts.databaseUrl,
    NEON_WS_PROXY_PORT: String(inject('wsProxyPort')),
    SERVICE_ROLE_KEY_NEXT: '',
    AUTH_JWKS_URL: '',
    AUTH_ISSUER: '',
    AUTH_AUDIENCE: '',
    ALERT_WEBHOOK_URL: '',
    ...opts.vars,
  };
  const args = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--test-scheduled',
    '--show-interactive-dev-session=false',
    '--persist-to',
    persist,
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  let out = '';
  const child: ChildProcess = spawn(path.join(ROOT, 'node_modules/.bin/wrangler'), args, {
    cwd: ROOT,
    detached: true, // own process group: stop() reaches workerd too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', FORCE_COLOR: '0', CI: '1' },
  });
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  const base = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5_000))]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await rm(persist, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited (${child.exitCode}):\n${out.slice(-3000)}`);
    }
    try {
      const res = await fetch(`${base}/health`);
      if (res.status === 200 || res.status === 503) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer /health in time:\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  return {
    base,
    output: () => out,
    async cron(schedule, timeMs) {
      const url = new URL(`${base}/cdn-cgi/handler/scheduled`);
      url.searchParams.set('cron', schedule);
      if (timeMs !== undefined) url.searchParams.set('time', String(timeMs));
      const res = await fetch(url);
      await res.text();
      return res.status;
    },
    stop,
  };
}
