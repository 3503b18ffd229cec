// bench/rank — POST /v1/rank (50 candidates, hydrated features) vs POST /v1/__bench/ping (same Worker,
// same middleware and user auth, the same request body, no work; a bench-only route mounted by the
// bench's own entry, bench/worker/rank.ts, never by the production Worker), both served by `wrangler dev` (the local stack on this
// engineer's ports), load from a separate process, runs alternating. Prints req/s and p50/p99 of
// each, the ratios, and Postgres transactions per 1,000 rank requests (pg_stat_database), which
// must come only from the batched learning-event inserts. Autovacuum is paused for the measured
// window (its workers visit each database every minute, ~3 transactions/min here, with no request
// behind them) and restored afterwards. The local queue consumer drains slowly (one batch at a
// time), so the bench waits until every logged event has landed before the second reading.
// Targets: rank median latency ≤ 1.5× the trivial route; ≤ 20 transactions per 1,000 ranks.
//   npx tsx bench/rank.ts   BENCH_SECONDS=8 BENCH_ROUNDS=3 BENCH_CONCURRENCY=8
//   BENCH_LEARNING=off: learning.enabled off — ranking alone, no queue send and no consumer
//   sharing the local workerd process (locally the consumer runs in the same process as the route).
//   PORT=8802 PG_PORT=55403 NEON_WS_PROXY_PORT=55404 (the stack this bench starts and stops)
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { envNumber, ROOT, readDotVars } from '../scripts/lib/env';

const PORT = envNumber('PORT', 8802);
const PG_PORT = envNumber('PG_PORT', 55403);
const PROXY_PORT = envNumber('NEON_WS_PROXY_PORT', 55404);
const SECONDS = envNumber('BENCH_SECONDS', 8);
const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
const LEARNING = process.env.BENCH_LEARNING !== 'off';
const BASE = `http://127.0.0.1:${PORT}`;
const DB_URL = `postgres://postgres:postgres@127.0.0.1:${PG_PORT}/postgres`;
const SURFACE = `bench-rank-${Date.now()}`; // fresh per run: the local database persists in .data/pg
const CANDIDATES = Array.from({ length: 50 }, (_, i) => ({ id: `bench-item-${i}`, score: (i % 10) / 10 }));
/** The stack's output (Worker logs included), for a look at the consumer's batches afterwards. */
const STACK_LOG = path.join(ROOT, '.tmp', 'bench-rank-stack.log');
mkdirSync(path.dirname(STACK_LOG), { recursive: true });
writeFileSync(STACK_LOG, '');
const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

function startStack(): Promise<() => Promise<void>> {
  // --no-cron: a cron run mid-measurement (rollup, hydrate) would land in one variant only.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts', '--no-cron'], {
    cwd: ROOT,
    env: {
      ...quietEnv,
      PORT: String(PORT),
      PG_PORT: String(PG_PORT),
      NEON_WS_PROXY_PORT: String(PROXY_PORT),
      WORKER_SCRIPT: 'bench/worker/rank.ts',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      appendFileSync(STACK_LOG, d);
      if (out.length < 100_000) out += d.toString();
      if (out.includes(`ready ${BASE}`)) resolve(stop);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => appendFileSync(STACK_LOG, d));
    child.once('exit', (code) => reject(new Error(`dev stack exited (${code}):\n${out.slice(-2000)}`)));
  });
}

/** Flags in KV FLAGS (what the flag sync maintains), so flag reads never reach Postgres. */
function putFlagsInKv(flags: { key: string; value: unknown }[]) {
  for (const f of flags) {
    execFileSync(
      path.join(ROOT, 'node_modules/.bin/wrangler'),
      ['kv', 'key', 'put', '--local', '--binding', 'FLAGS', f.key, JSON.stringify(f.value)],
      { cwd: ROOT, env: quietEnv, stdio: 'ignore' },
    );
  }
}

async function api(pathname: string, init: RequestInit & { key?: string } = {}) {
  const res = await fetch(`${BASE}${pathname}`, {
    ...init,
    headers: { authorization: `Bearer ${init.key}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (!res.ok) throw new Error(`${pathname}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Committed + rolled-back transactions of the database, and autovacuum/autoanalyze runs, read on a
 * fresh connection (one transaction of its own, counted by the next reading: a backend's stats
 * are flushed when it exits).
 */
async function pgStats(): Promise<{ tx: number; sessions: number; autovacuum: number }> {
  const [row] = await sql<{ tx: string; sessions: string; av: string }>(
    `SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'postgres')::bigint AS tx,
            (SELECT sessions FROM pg_stat_database WHERE datname = 'postgres')::bigint AS sessions,
            (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables)::bigint AS av`,
  );
  return { tx: Number(row!.tx), sessions: Number(row!.sessions), autovacuum: Number(row!.av) };
}

/** Events of the bench surface that have landed in Postgres. */
async function landedEvents(): Promise<number> {
  return (
    await sql<{ n: number }>('SELECT count(*)::int AS n FROM public.learning_events WHERE surface = $1 AND decision_id IS NOT NULL', [
      SURFACE,
    ])
  )[0]!.n;
}

/** Poll until `expected` events have landed (the local queue drains one batch at a time). */
async function waitForEvents(expected: number): Promise<{ landed: number; polls: number }> {
  let polls = 0;
  let landed = 0;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    polls++;
    landed = await landedEvents();
    if (landed >= expected) break;
    await new Promise((res) => setTimeout(res, 1_000));
  }
  return { landed, polls };
}

/**
 * One statement on its own short-lived connection: two transactions (a backend's startup runs one
 * to read the catalogs, then the statement), both reported by the time the connection closes.
 */
async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  // No parallel query: parallel workers' transactions count in pg_stat_database too.
  const c = new pg.Client({ connectionString: DB_URL, options: '-c max_parallel_workers_per_gather=0' });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
    await new Promise((r) => setTimeout(r, 200)); // let the backend exit (and flush its stats)
  }
}

interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

function load(url: string, method: string, auth: string, bodyFile?: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/lib/load.ts', url, method, String(SECONDS), String(CONCURRENCY), auth, ...(bodyFile ? [bodyFile] : [])],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load exited ${code}`)),
    );
  });
}

const vars = readDotVars();
const serviceKey = vars.SERVICE_ROLE_KEY ?? 'dev-service-role-key';
const BENCH_USER = crypto.randomUUID();
const jwt = await new SignJWT({ role: 'authenticated' })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(BENCH_USER)
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(new TextEncoder().encode(vars.AUTH_JWT_SECRET ?? 'dev-jwt-secret'));

putFlagsInKv([
  { key: 'global.safe_mode', value: { enabled: false } },
  { key: 'ranker.policy', value: { version: 'epsilon_greedy_v1', epsilon: 0.08 } },
  { key: 'learning.enabled', value: { enabled: LEARNING } },
  { key: 'marketplace.suggest', value: { enabled: true } },
  { key: 'crush_mode.enabled', value: { enabled: false } },
]);
console.log(`bench/rank: starting the local stack on :${PORT} (postgres :${PG_PORT}, ws proxy :${PROXY_PORT})`);
const stop = await startStack();
let autovacuumOff = false;
try {
  // Hydrated features: learned stats for the 50 candidates on the bench surface (registered for
  // it: shared statistics take known candidates only).
  await sql(
    `INSERT INTO public.surface_candidates (surface, candidate_id, registered_by)
     SELECT $1, 'bench-item-' || g, 'bench' FROM generate_series(0, 49) g ON CONFLICT DO NOTHING`,
    [SURFACE],
  );
  await sql(
    `INSERT INTO public.learning_events (surface, candidate_id, policy, p_exp, explored, reward)
     SELECT $1, 'bench-item-' || (g % 50), 'epsilon_greedy_v1', 0.9, false, CASE WHEN g % 7 = 0 THEN 1 END
     FROM generate_series(1, 2000) g`,
    [SURFACE],
  );
  // One bench user sends hundreds of requests a second: give it a per-user limit override (the
  // limiter stays on for both routes, as deployed; its own cost is bench/ratelimit's subject).
  await sql('INSERT INTO auth.users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [BENCH_USER, `${BENCH_USER}@bench.invalid`]);
  await sql(`INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES ('user', $1, 1000000, 60)`, [
    BENCH_USER,
  ]);
  await api('/admin/rate-limits/sync', { method: 'POST', key: serviceKey });
  await api('/admin/policy/rollup', { method: 'POST', key: serviceKey });
  const hydrated = await api('/functions/v1/hydrate-features', { method: 'POST', key: serviceKey });
  console.log(`hydrated: ${JSON.stringify(hydrated)}`);
  const bodyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-rank-')), 'body.json');
  writeFileSync(bodyFile, JSON.stringify({ surface: SURFACE, limit: 10, candidates: CANDIDATES }));
  const check = (await api('/v1/rank', {
    method: 'POST',
    key: jwt,
    body: JSON.stringify({ surface: SURFACE, limit: 10, candidates: CANDIDATES }),
  })) as { slate: { score: number }[] };
  if (check.slate.length !== 10) throw new Error('rank returned a short slate');

  await sql('ALTER SYSTEM SET autovacuum = off');
  await sql('SELECT pg_reload_conf()');
  autovacuumOff = true;
  // A worker that started before the pause finishes its round (its transactions would count).
  while ((await sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"))[0]!.n > 0) {
    await new Promise((res) => setTimeout(res, 500));
  }
  // Warm both routes (JIT, isolate caches), and let the warm-up's events land before measuring.
  const warm = await load(`${BASE}/v1/rank`, 'POST', `Bearer ${jwt}`, bodyFile);
  await load(`${BASE}/v1/__bench/ping`, 'POST', `Bearer ${jwt}`, bodyFile);
  const before = LEARNING ? (await waitForEvents((warm.requests + 1) * 10)).landed : 0;
  const stats0 = await pgStats();

  const runs: { rank: LoadResult; ping: LoadResult }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const rank = await load(`${BASE}/v1/rank`, 'POST', `Bearer ${jwt}`, bodyFile);
    const ping = await load(`${BASE}/v1/__bench/ping`, 'POST', `Bearer ${jwt}`, bodyFile);
    runs.push({ rank, ping });
    console.log(
      `round ${r + 1}: rank ${rank.rps.toFixed(0)} req/s p50 ${rank.p50_ms.toFixed(2)} ms p99 ${rank.p99_ms.toFixed(2)} ms (${rank.errors} errors)` +
        ` | ping ${ping.rps.toFixed(0)} req/s p50 ${ping.p50_ms.toFixed(2)} ms p99 ${ping.p99_ms.toFixed(2)} ms (${ping.errors} errors)`,
    );
  }

  // Every measured rank logged 10 events: wait until all have landed, so the transactions counted
  // are all of their inserts and nothing else is in flight.
  const ranks = runs.reduce((sum, r) => sum + r.rank.requests, 0);
  const expected = LEARNING ? before + ranks * 10 : 0;
  const { landed, polls } = await waitForEvents(expected);
  await new Promise((res) => setTimeout(res, 1_500));
  const stats1 = await pgStats();
  // Ours between the two readings: stats0's statement, stats1's backend startup, two per poll.
  const ours = 2 + 2 * polls;
  const raw = stats1.tx - stats0.tx - ours;
  const sessions = stats1.sessions - stats0.sessions - (1 + polls);
  const autovacuum = stats1.autovacuum - stats0.autovacuum;

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const m = {
    rank: { rps: med(runs.map((r) => r.rank.rps)), p50: med(runs.map((r) => r.rank.p50_ms)), p99: med(runs.map((r) => r.rank.p99_ms)) },
    ping: { rps: med(runs.map((r) => r.ping.rps)), p50: med(runs.map((r) => r.ping.p50_ms)), p99: med(runs.map((r) => r.ping.p99_ms)) },
  };
  const txPer1000 = ((raw - autovacuum) / ranks) * 1000;
  console.log(
    `\nmedian of ${ROUNDS} alternating runs, ${SECONDS} s each, ${CONCURRENCY} concurrent connections, learning ${LEARNING ? 'on' : 'OFF'}`,
  );
  console.log('route                    req/s     p50 ms     p99 ms');
  console.log(
    `POST /v1/rank       ${m.rank.rps.toFixed(0).padStart(10)} ${m.rank.p50.toFixed(2).padStart(10)} ${m.rank.p99.toFixed(2).padStart(10)}`,
  );
  console.log(
    `POST /v1/__bench/ping  ${m.ping.rps.toFixed(0).padStart(10)} ${m.ping.p50.toFixed(2).padStart(10)} ${m.ping.p99.toFixed(2).padStart(10)}`,
  );
  console.log(
    `ratio rank/ping     ${(m.rank.rps / m.ping.rps).toFixed(2).padStart(9)}× ${(m.rank.p50 / m.ping.p50).toFixed(2).padStart(9)}× ${(m.rank.p99 / m.ping.p99).toFixed(2).padStart(9)}×`,
  );
  console.log(
    `\nPostgres: ${raw} transactions while ${ranks} ranks were served and their events landed` +
      ` (${landed >= expected ? 'all of them' : `NOT all: ${landed - before} of ${expected - before}`}); ${autovacuum} autovacuum/autoanalyze runs among them`,
  );
  console.log(
    `  = ${sessions} connection startups (one per consumer batch: a new backend reads the catalogs in a transaction;` +
      ` a pooled endpoint such as Neon's -pooler has none) + ${raw - sessions - autovacuum} statements`,
  );
  console.log(
    `transactions per 1,000 ranks: ${txPer1000.toFixed(1)}; statements only: ${(((raw - sessions - autovacuum) / ranks) * 1000).toFixed(1)}`,
  );
  console.log(`(Worker and stack logs: ${path.relative(ROOT, STACK_LOG)})`);
  console.log(
    `rank p50 ≤ 1.5× trivial: ${m.rank.p50 / m.ping.p50 <= 1.5 ? 'PASS' : 'FAIL'}   tx per 1,000 ranks ≤ 20: ${txPer1000 <= 20 ? 'PASS' : 'FAIL'}`,
  );
} finally {
  if (autovacuumOff)
    await sql('ALTER SYSTEM RESET autovacuum')
      .then(() => sql('SELECT pg_reload_conf()'))
      .catch(() => undefined);
  await stop();
}
