// bench/ratelimit: what the rate limiter costs per request, how many decisions one subject's
// limiter makes per second, and how many storage writes it makes.
//
//   npx tsx bench/ratelimit.ts
//   PORT=8860 PG_PORT=55460 NEON_WS_PROXY_PORT=55461 npx tsx bench/ratelimit.ts
//   BENCH_REQUESTS=4000 BENCH_DECISIONS=20000 BENCH_CONCURRENCY=16 npx tsx bench/ratelimit.ts
//
// Setup (all local, one process run): a throwaway embedded Postgres (PG_PORT, default 55407) with
// migrations and seeds, the WebSocket proxy (NEON_WS_PROXY_PORT, default 55408), and ONE Worker
// (bench/worker/ratelimit.ts under wrangler's local runtime, PORT default 8804) serving the same
// routes twice: limits on (as deployed) and limits off (RATE_LIMITS=off). The variants are measured
// in alternating rounds against the same Worker, so machine load hits both alike.
//
// 1. Latency: BENCH_REQUESTS requests per variant and route (default 800), sent by BENCH_CONCURRENCY
//    clients (default 1: latency without queueing), spread over 200 users / 200 client addresses
//    whose limits are raised so nothing is refused (we measure the admitted path).
// 2. Decisions for ONE subject (BENCH_DECISIONS, default 5000), sequentially and 100 in flight,
//    driven from inside the Worker in calls of 500: "inside the object" = the decision alone (500
//    per call, no RPC each); "object call" = every decision a call to the RateLimiter object;
//    "request path" = what a request does (the isolate's leased permits), with the number of calls
//    that reached the object.
// 3. Storage writes of the objects above (metered in bench/worker/ratelimit.ts): write batches (an
//    event's rows written and alarms set, committed together), rows written, per 1,000 requests,
//    and the most batches in any second of one object.
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
const DECISIONS_PER_CALL = 500;
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 1);
const ROUNDS = 8;
const PG_PORT = envNumber('PG_PORT', 55407);
const WS_PORT = envNumber('NEON_WS_PROXY_PORT', 55408);
const SERVICE_KEY = 'bench-service-role-key';
const JWT_SECRET = 'bench-jwt-secret';
const USERS = envNumber('BENCH_USERS', 200);

/** What bench/worker/ratelimit.ts reports per object (its StorageMeter). */
interface StorageMeter {
  writes: number;
  statements: number;
  rows: number;
  alarms: number;
  instances: number;
  maxPerSecond: number;
}

const table = (head: string[], body: string[][]) => {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
};
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x: number) => x.toFixed(2);

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
  const userIds = Array.from({ length: USERS }, () => crypto.randomUUID());
  const tokens = await Promise.all(
    userIds.map((id) =>
      new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'HS256' }).setSubject(id).setExpirationTime('2h').sign(key),
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
  let userRouteOnRequests = 0;

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
          if (prefix === '' && route === routes[0]) userRouteOnRequests++;
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

  const meters = async (names: string[]): Promise<StorageMeter[]> =>
    (await w.fetch(`/__bench/meter?names=${names.map(encodeURIComponent).join(',')}`)).json() as Promise<StorageMeter[]>;
  const warmUpMeters = await meters(userIds.map((id) => `user:${id}`));

  const objectCalls = async () => ((await (await w.fetch('/__bench/object-calls')).json()) as { calls: number }).calls;
  const callShares: string[] = [];
  const rows: string[][] = [];
  for (const route of routes) {
    const on: number[] = [];
    const off: number[] = [];
    let onWall = 0;
    let offWall = 0;
    progress(`measuring: ${route.name}`);
    const callsBefore = await objectCalls();
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
    callShares.push(`${route.name}: ${(await objectCalls()) - callsBefore} calls to limiter objects for ${on.length} limits-on requests`);
  }
  console.log(
    `\nLimiter overhead per request — ${REQUESTS} requests per variant and route, ${CONCURRENCY} concurrent clients, ${ROUNDS} alternating rounds`,
  );
  console.log(table(['route', 'variant', 'requests', 'mean ms', 'p50 ms', 'p95 ms', 'req/s', 'ratio mean', 'ratio p50'], rows));
  for (const line of callShares) console.log(line);

  const storageRows: string[][] = [];
  const storageRow = (workload: string, requests: number, seconds: number | null, ms: StorageMeter[], base?: StorageMeter[]) => {
    const sum = (k: keyof StorageMeter) => ms.reduce((n, m, i) => n + m[k] - (base?.[i]?.[k] ?? 0), 0);
    storageRows.push([
      workload,
      String(ms.length),
      String(requests),
      String(sum('writes')),
      String(sum('rows')),
      String(sum('alarms')),
      String(ms.reduce((n, m, i) => n + m.instances - (base?.[i]?.instances ?? 1), 0)),
      ((1000 * sum('writes')) / requests).toFixed(1),
      String(Math.max(...ms.map((m) => m.maxPerSecond))),
      seconds === null ? '' : (sum('writes') / ms.length / seconds).toFixed(2),
    ]);
  };
  const userObjects = userIds.map((id) => `user:${id}`);
  storageRow(`user route: first request of each of ${USERS} users (warm-up)`, USERS, null, warmUpMeters);
  storageRow(
    `user route: the ${userRouteOnRequests - USERS} limits-on requests after it`,
    userRouteOnRequests - USERS,
    null,
    await meters(userObjects),
    warmUpMeters,
  );

  const decisionRows: string[][] = [];
  const runs = [
    ['inside', 1],
    ['rpc', 1],
    ['rpc', 100],
    ['permits', 1],
    ['permits', 100],
  ] as const;
  const labels = { inside: 'inside the object, no RPC', rpc: 'object call per decision', permits: 'request path (leased permits)' };
  for (const [mode, concurrency] of runs) {
    const object = `bench:${mode}-${concurrency}`;
    const label = `${labels[mode]}, ${concurrency === 1 ? 'sequential' : '100 in flight'}`;
    progress(`decisions: ${label}`);
    const started = performance.now();
    let allowed = 0;
    let calls = 0;
    let unsupported = false;
    for (let done = 0; done < DECISIONS; done += DECISIONS_PER_CALL) {
      const n = Math.min(DECISIONS_PER_CALL, DECISIONS - done);
      const res = (await (await w.fetch(`/__bench/decisions?mode=${mode}&n=${n}&concurrency=${concurrency}&object=${object}`)).json()) as {
        allowed: number;
        calls: number;
        unsupported?: boolean;
      };
      if (res.unsupported) {
        unsupported = true;
        break;
      }
      allowed += res.allowed;
      calls += res.calls;
    }
    if (unsupported) continue;
    const seconds = (performance.now() - started) / 1000;
    if (allowed !== DECISIONS) throw new Error(`expected ${DECISIONS} admitted, got ${allowed}`);
    decisionRows.push([
      label,
      String(DECISIONS),
      seconds.toFixed(2),
      (DECISIONS / seconds).toFixed(0),
      ((1000 * seconds) / DECISIONS).toFixed(3),
      String(calls),
    ]);
    storageRow(`one subject: ${label}`, DECISIONS, seconds, await meters([object]));
  }
  console.log(`\nOne subject's limiter — ${DECISIONS} decisions, driven from inside the Worker in calls of ${DECISIONS_PER_CALL}`);
  console.log(table(['mode', 'decisions', 'seconds', 'decisions/s', 'ms per decision', 'object calls'], decisionRows));
  console.log(
    "\nStorage writes (a write = one event's storage batch: rows written and/or an alarm set, committed together; restarts = object instances rebuilt from storage)",
  );
  console.log(
    table(
      [
        'workload',
        'objects',
        'requests',
        'writes',
        'rows written',
        'alarms set',
        'restarts',
        'writes per 1,000 requests',
        'max writes in 1 s (one object)',
        'writes/s per object',
      ],
      storageRows,
    ),
  );
} finally {
  await worker?.stop();
  await proxy.close();
  await db.stop();
}
