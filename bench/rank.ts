// bench/rank — POST /v1/rank (50 candidates, hydrated features) vs GET /v1/rank/ping (same Worker,
// same middleware and user auth, no work), both served by `wrangler dev` (the local stack on this
// engineer's ports), load from a separate process, runs alternating. Prints req/s and p50/p99 of
// each, the ratios, and Postgres transactions per 1,000 rank requests (pg_stat_database), which
// must come only from the batched learning-event inserts.
// Targets: rank median latency ≤ 1.5× the trivial route; ≤ 20 transactions per 1,000 ranks.
//   npx tsx bench/rank.ts   BENCH_SECONDS=8 BENCH_ROUNDS=3 BENCH_CONCURRENCY=8
//   PORT=8802 PG_PORT=55403 NEON_WS_PROXY_PORT=55404 (the stack this bench starts and stops)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { readDotVars, ROOT } from '../scripts/lib/env';

const PORT = Number(process.env.PORT ?? 8802);
const PG_PORT = Number(process.env.PG_PORT ?? 55403);
const PROXY_PORT = Number(process.env.NEON_WS_PROXY_PORT ?? 55404);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BASE = `http://127.0.0.1:${PORT}`;
const DB_URL = `postgres://postgres:postgres@127.0.0.1:${PG_PORT}/postgres`;
const SURFACE = 'bench-rank';
const CANDIDATES = Array.from({ length: 50 }, (_, i) => ({ id: `bench-item-${i}`, score: (i % 10) / 10 }));
const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

function startStack(): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    cwd: ROOT, env: { ...quietEnv, PORT: String(PORT), PG_PORT: String(PG_PORT), NEON_WS_PROXY_PORT: String(PROXY_PORT) },
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
      out += d.toString();
      if (out.includes(`ready ${BASE}`)) resolve(stop);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`dev stack exited (${code}):\n${out.slice(-2000)}`)));
  });
}

/** Flags in KV FLAGS (what the flag sync maintains), so flag reads never reach Postgres. */
function putFlagsInKv(flags: { key: string; value: unknown }[]) {
  for (const f of flags) {
    execFileSync(path.join(ROOT, 'node_modules/.bin/wrangler'), ['kv', 'key', 'put', '--local', '--binding', 'FLAGS', f.key, JSON.stringify(f.value)],
      { cwd: ROOT, env: quietEnv, stdio: 'ignore' });
  }
}

async function api(pathname: string, init: RequestInit & { key?: string } = {}) {
  const res = await fetch(`${BASE}${pathname}`, { ...init, headers: { authorization: `Bearer ${init.key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  if (!res.ok) throw new Error(`${pathname}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function transactions(c: pg.Client): Promise<number> {
  await c.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await c.query("SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = 'postgres'");
  return Number(rows[0].n);
}

interface LoadResult { requests: number; errors: number; rps: number; p50_ms: number; p99_ms: number }

function load(url: string, method: string, auth: string, bodyFile?: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/load.ts', url, method, String(SECONDS), String(CONCURRENCY), auth, ...(bodyFile ? [bodyFile] : [])],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load exited ${code}`))));
  });
}

const vars = readDotVars();
const serviceKey = vars.SERVICE_ROLE_KEY ?? 'dev-service-role-key';
const jwt = await new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'HS256' }).setSubject(crypto.randomUUID())
  .setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(vars.AUTH_JWT_SECRET ?? 'dev-jwt-secret'));

putFlagsInKv([
  { key: 'global.safe_mode', value: { enabled: false } },
  { key: 'ranker.policy', value: { version: 'epsilon_greedy_v1', epsilon: 0.08 } },
  { key: 'learning.enabled', value: { enabled: true } },
  { key: 'marketplace.suggest', value: { enabled: true } },
  { key: 'crush_mode.enabled', value: { enabled: false } },
]);
console.log(`bench/rank: starting the local stack on :${PORT} (postgres :${PG_PORT}, ws proxy :${PROXY_PORT})`);
const stop = await startStack();
const db = new pg.Client({ connectionString: DB_URL });
try {
  await db.connect();
  // Hydrated features: learned stats for the 50 candidates on the bench surface.
  await db.query(
    `INSERT INTO public.learning_events (surface, candidate_id, policy, p_exp, explored, reward)
     SELECT $1, 'bench-item-' || (g % 50), 'epsilon_greedy_v1', 0.9, false, CASE WHEN g % 7 = 0 THEN 1 END
     FROM generate_series(1, 2000) g`, [SURFACE]);
  await api('/admin/policy/rollup', { method: 'POST', key: serviceKey });
  const hydrated = await api('/functions/v1/hydrate-features', { method: 'POST', key: serviceKey });
  console.log(`hydrated: ${JSON.stringify(hydrated)}`);
  const bodyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-rank-')), 'body.json');
  writeFileSync(bodyFile, JSON.stringify({ surface: SURFACE, limit: 10, candidates: CANDIDATES }));
  const check = await api('/v1/rank', { method: 'POST', key: jwt, body: JSON.stringify({ surface: SURFACE, limit: 10, candidates: CANDIDATES }) }) as { slate: { score: number }[] };
  if (check.slate.length !== 10) throw new Error('rank returned a short slate');

  // Warm both routes (JIT, isolate caches) before measuring.
  await load(`${BASE}/v1/rank`, 'POST', `Bearer ${jwt}`, bodyFile);
  await load(`${BASE}/v1/rank/ping`, 'GET', `Bearer ${jwt}`);
  await new Promise((r) => setTimeout(r, 4_000));

  const runs: { rank: LoadResult; ping: LoadResult; tx: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const before = await transactions(db);
    const rank = await load(`${BASE}/v1/rank`, 'POST', `Bearer ${jwt}`, bodyFile);
    await new Promise((res) => setTimeout(res, 5_000)); // the queue drains; backends report their stats
    const tx = (await transactions(db)) - before - 1; // minus our own stats query
    const ping = await load(`${BASE}/v1/rank/ping`, 'GET', `Bearer ${jwt}`);
    runs.push({ rank, ping, tx });
    console.log(`round ${r + 1}: rank ${rank.rps.toFixed(0)} req/s p50 ${rank.p50_ms.toFixed(2)} ms p99 ${rank.p99_ms.toFixed(2)} ms (${rank.errors} errors)` +
      ` | ping ${ping.rps.toFixed(0)} req/s p50 ${ping.p50_ms.toFixed(2)} ms p99 ${ping.p99_ms.toFixed(2)} ms | ${tx} Postgres tx for ${rank.requests} ranks`);
  }
  const [{ n: logged }] = (await db.query('SELECT count(*)::int AS n FROM public.learning_events WHERE surface = $1 AND decision_id IS NOT NULL', [SURFACE])).rows;

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const m = {
    rank: { rps: med(runs.map((r) => r.rank.rps)), p50: med(runs.map((r) => r.rank.p50_ms)), p99: med(runs.map((r) => r.rank.p99_ms)) },
    ping: { rps: med(runs.map((r) => r.ping.rps)), p50: med(runs.map((r) => r.ping.p50_ms)), p99: med(runs.map((r) => r.ping.p99_ms)) },
  };
  const totalRanks = runs.reduce((s, r) => s + r.rank.requests, 0);
  const txPer1000 = (runs.reduce((s, r) => s + r.tx, 0) / totalRanks) * 1000;
  console.log(`\nmedian of ${ROUNDS} alternating runs, ${SECONDS} s each, ${CONCURRENCY} concurrent connections`);
  console.log('route                    req/s     p50 ms     p99 ms');
  console.log(`POST /v1/rank       ${m.rank.rps.toFixed(0).padStart(10)} ${m.rank.p50.toFixed(2).padStart(10)} ${m.rank.p99.toFixed(2).padStart(10)}`);
  console.log(`GET /v1/rank/ping   ${m.ping.rps.toFixed(0).padStart(10)} ${m.ping.p50.toFixed(2).padStart(10)} ${m.ping.p99.toFixed(2).padStart(10)}`);
  console.log(`ratio rank/ping     ${(m.rank.rps / m.ping.rps).toFixed(2).padStart(9)}× ${(m.rank.p50 / m.ping.p50).toFixed(2).padStart(9)}× ${(m.rank.p99 / m.ping.p99).toFixed(2).padStart(9)}×`);
  console.log(`\nPostgres transactions per 1,000 ranks: ${txPer1000.toFixed(1)} (${totalRanks} ranks; ${logged} learning events landed, ${(logged / 10).toFixed(0)} decisions incl. warm-up)`);
  console.log(`rank p50 ≤ 1.5× trivial: ${m.rank.p50 / m.ping.p50 <= 1.5 ? 'PASS' : 'FAIL'}   tx per 1,000 ranks ≤ 20: ${txPer1000 <= 20 ? 'PASS' : 'FAIL'}`);
} finally {
  await db.end().catch(() => undefined);
  await stop();
}
