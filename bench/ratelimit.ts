// bench/ratelimit: what the rate limiter costs per request, and how many decisions one limiter
// object makes per second.
//
//   npx tsx bench/ratelimit.ts
//   BENCH_REQUESTS=4000 BENCH_DECISIONS=20000 BENCH_CONCURRENCY=16 npx tsx bench/ratelimit.ts
//
// Setup (all local, one process run): a throwaway embedded Postgres (PG_PORT, default 55407) with
// migrations and seeds, the WebSocket proxy (NEON_WS_PROXY_PORT, default 55408), and ONE Worker
// (bench/worker/ratelimit.ts under wrangler's local runtime) serving the same routes twice:
// limits on (as deployed) and limits off (RATE_LIMITS=off). The variants are measured in
// alternating rounds against the same Worker, so machine load hits both alike.
//
// Workload: BENCH_REQUESTS requests per variant and route (default 800), sent by BENCH_CONCURRENCY
// clients (default 1: latency without queueing), spread over 200 users / 200 client IPs whose limits are raised so nothing is
// refused (we measure the admitted path). Then BENCH_DECISIONS decisions (default 5000) against
// ONE RateLimiter object, sequentially and 100 at a time (driven from inside the Worker, in calls
// of 1000).
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { unstable_dev } from 'wrangler';
import { envNumber } from '../scripts/lib/env';
import { migrate, seed } from '../scripts/lib/migrate';
import { startPgChild } from '../scripts/lib/pg-child';
import { startWsProxy } from '../scripts/lib/ws-proxy';

process.env.WRANGLER_SEND_METRICS = 'false';
const progress = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const REQUESTS = envNumber('BENCH_REQUESTS', 800);
const DECISIONS = envNumber('BENCH_DECISIONS', 5000);
const DECISIONS_PER_CALL = 1000;
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 1);
const ROUNDS = 8;
const PG_PORT = envNumber('PG_PORT', 55407);
const WS_PORT = envNumber('NEON_WS_PROXY_PORT', 55408);
const SERVICE_KEY = 'bench-service-role-key';
const JWT_SECRET = 'bench-jwt-secret';
const USERS = 200;

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-ratelimit-pg-'));
const db = await startPgChild({ port: PG_PORT, dataDir, ephemeral: true });
const proxy = await startWsProxy(WS_PORT);
let worker: Awaited<ReturnType<typeof unstable_dev>> | undefined;

try {
  await migrate(db.url);
  await seed(db.url);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // Measure the admitted path: nothing in this workload may hit its limit.
  await client.query(
    "UPDATE public.rate_limits SET max_requests = 100000000 WHERE user_id IS NULL AND route_class IN ('user', 'anon', 'admin_write')",
  );
  await client.end();

  worker = await unstable_dev('bench/worker/ratelimit.ts', {
    config: 'wrangler.toml',
    ip: '127.0.0.1',
    port: envNumber('PORT', 8804),
    persist: false,
    logLevel: 'none',
    vars: {
      DATABASE_URL: db.url,
      NEON_WS_PROXY_PORT: String(WS_PORT),
      SERVICE_ROLE_KEY: SERVICE_KEY,
      SERVICE_ROLE_KEY_NEXT: '',
      AUTH_JWT_SECRET: JWT_SECRET,
      AUTH_JWT_SECRET_NEXT: '',
      AUTH_JWKS_URL: '',
      AUTH_ISSUER: '',
      AUTH_AUDIENCE: '',
      ALERT_WEBHOOK_URL: '',
      CORS_ORIGINS: '',
      RATE_LIMITS: 'on',
    },
    experimental: { disableExperimentalWarning: true, testMode: true },
  });
  const w = worker;
  const sync = await w.fetch('/admin/rate-limits/sync', { method: 'POST', headers: { authorization: `Bearer ${SERVICE_KEY}` } });
  if (sync.status !== 200) throw new Error(`limits sync failed: ${sync.status} ${await sync.text()}`);

  const key = new TextEncoder().encode(JWT_SECRET);
  const tokens = await Promise.all(
    Array.from({ length: USERS }, () =>
      new SignJWT({ role: 'authenticated' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(crypto.randomUUID())
        .setExpirationTime('2h')
        .sign(key),
    ),
  );

  type Route = { name: string; path: string; headers: (i: number) => Record<string, string> };
  const routes: Route[] = [
    { name: 'user route (JWT)', path: '/v1/__bench/ping', headers: (i) => ({ authorization: `Bearer ${tokens[i % USERS]}` }) },
    {
      name: 'anonymous route',
      path: '/__bench/anon',
      headers: (i) => ({ 'cf-connecting-ip': `10.0.${Math.floor((i % USERS) / 250)}.${i % 250}` }),
    },
  ];

  /** `n` requests by CONCURRENCY clients; per-request latencies in ms. */
  async function run(route: Route, prefix: string, n: number): Promise<number[]> {
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          const i = next++;
          const started = performance.now();
          const res = await w.fetch(`${prefix}${route.path}`, { headers: route.headers(i) });
          await res.arrayBuffer();
          latencies.push(performance.now() - started);
          if (res.status !== 200) throw new Error(`${prefix}${route.path} → ${res.status}`);
        }
      }),
    );
    return latencies;
  }

  // Warm-up: every user seen once (first-sight upsert), isolates and limiter objects created.
  progress('warm-up');
  for (const route of routes) {
    await run(route, '', USERS);
    await run(route, '/__off', USERS);
  }

  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows: string[][] = [];
  for (const route of routes) {
    const on: number[] = [];
    const off: number[] = [];
    let onWall = 0;
    let offWall = 0;
    progress(`measuring: ${route.name}`);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order each round so neither variant always runs on a warmer machine.
      for (const variant of r % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
        const started = performance.now();
        const lat = await run(route, variant === 'on' ? '' : '/__off', Math.ceil(REQUESTS / ROUNDS));
        const wall = performance.now() - started;
        if (variant === 'on') {
          on.push(...lat);
          onWall += wall;
        } else {
          off.push(...lat);
          offWall += wall;
        }
      }
    }
    const fmt = (x: number) => x.toFixed(2);
    rows.push([
      route.name,
      'limits off',
      String(off.length),
      fmt(mean(off)),
      fmt(pct(off, 0.5)),
      fmt(pct(off, 0.95)),
      (off.length / (offWall / 1000)).toFixed(0),
      '1.00',
      '1.00',
    ]);
    rows.push([
      route.name,
      'limits on',
      String(on.length),
      fmt(mean(on)),
      fmt(pct(on, 0.5)),
      fmt(pct(on, 0.95)),
      (on.length / (onWall / 1000)).toFixed(0),
      (mean(on) / mean(off)).toFixed(2),
      (pct(on, 0.5) / pct(off, 0.5)).toFixed(2),
    ]);
    rows.push([route.name, 'overhead (on − off)', '', fmt(mean(on) - mean(off)), fmt(pct(on, 0.5) - pct(off, 0.5)), '', '', '', '']);
  }

  const decisionRows: string[][] = [];
  for (const concurrency of [1, 100]) {
    progress(`decisions: ${DECISIONS}, ${concurrency} in flight`);
    const started = performance.now();
    let allowed = 0;
    for (let done = 0; done < DECISIONS; done += DECISIONS_PER_CALL) {
      const n = Math.min(DECISIONS_PER_CALL, DECISIONS - done);
      const res = await w.fetch(`/__bench/decisions?n=${n}&concurrency=${concurrency}&object=${concurrency}`);
      allowed += ((await res.json()) as { allowed: number }).allowed;
    }
    const seconds = (performance.now() - started) / 1000;
    if (allowed !== DECISIONS) throw new Error(`expected ${DECISIONS} admitted, got ${allowed}`);
    decisionRows.push([
      concurrency === 1 ? 'sequential (1 in flight)' : '100 in flight',
      String(DECISIONS),
      seconds.toFixed(2),
      (DECISIONS / seconds).toFixed(0),
      ((1000 * seconds) / DECISIONS).toFixed(3),
    ]);
  }

  const table = (head: string[], body: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
    const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
  };
  console.log(
    `\nLimiter overhead per request — ${REQUESTS} requests per variant and route, ${CONCURRENCY} concurrent clients, ${ROUNDS} alternating rounds`,
  );
  console.log(table(['route', 'variant', 'requests', 'mean ms', 'p50 ms', 'p95 ms', 'req/s', 'ratio mean', 'ratio p50'], rows));
  console.log(`\nOne RateLimiter object — ${DECISIONS} decisions (RPC from the Worker, SQLite write per admitted request)`);
  console.log(table(['mode', 'decisions', 'seconds', 'decisions/s', 'ms per decision'], decisionRows));
} finally {
  await worker?.stop();
  await proxy.close();
  await db.stop();
}
