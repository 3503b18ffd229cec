// bench/discovery.ts — discovery throughput on the local stack, two ways, same jobs:
//   queue  enqueue_discovery_for_user → relay (POST /functions/v1/rocker-discovery-run, the
//          per-minute cron's job) → DISCOVERY queue → consumer → done
//   http   enqueue_discovery_for_user → POST /functions/v1/queue-worker drain (BENCH_WORKERS
//          concurrent callers, BENCH_LIMIT rows per call) → done
// Both start from a backlog of BENCH_JOBS jobs enqueued at once and report jobs/s (with the
// ratio), the highest p95_age_sec of queued jobs that vw_discovery_queue_health showed while
// draining (the guide's alert: > 300 s), and the p95 time from enqueue to done.
//
//   npx tsx bench/discovery.ts                   # starts its own stack (PORT/PG_PORT/NEON_WS_PROXY_PORT)
//   API_URL=http://127.0.0.1:8803 DATABASE_URL=postgres://postgres:postgres@127.0.0.1:55405/postgres \
//     npx tsx bench/discovery.ts                 # against a running `npm run dev -- --no-cron`
//   BENCH_JOBS=10000 (default) BENCH_WORKERS=4 BENCH_LIMIT=200 BENCH_ORDER=queue,http
// Jobs are 5 per bench user (users *@bench.local over the 5 seeded interests 1–5), so the
// workload scales with BENCH_JOBS. The bench deletes its users (and their jobs) before and after.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { envNumber, ROOT, readDotVars } from '../scripts/lib/env';

const JOBS = envNumber('BENCH_JOBS', 10_000);
const WORKERS = envNumber('BENCH_WORKERS', 4);
const LIMIT = envNumber('BENCH_LIMIT', 200);
const ORDER = (process.env.BENCH_ORDER ?? 'queue,http').split(',') as Variant[];
const INTERESTS = [
  '11111111-1111-1111-1111-111111111111',
  '22222222-2222-2222-2222-222222222222',
  '33333333-3333-3333-3333-333333333333',
  '44444444-4444-4444-4444-444444444444',
  '55555555-5555-5555-5555-555555555555',
];
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_S', 1800) * 1000;
type Variant = 'queue' | 'http';

interface Result {
  variant: Variant;
  jobs: number;
  enqueueS: number;
  wallS: number;
  maxQueuedP95: number;
  p95ToDone: number;
  maxToDone: number;
  errors: number;
}

const serviceKey = process.env.SERVICE_ROLE_KEY ?? readDotVars().SERVICE_ROLE_KEY ?? 'dev-service-role-key';
let stack: ChildProcess | undefined;

async function startStack(): Promise<{ api: string; db: string }> {
  const port = process.env.PORT ?? '8787';
  const pgPort = process.env.PG_PORT ?? '54329';
  // --no-cron: the per-minute relay would move jobs behind the variants' backs.
  stack = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/dev.ts'), '--no-cron'], {
    cwd: ROOT,
    env: { ...process.env, PORT: port, PG_PORT: pgPort },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stack did not get ready in 120 s')), 120_000);
    let buf = '';
    stack!.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      if (/^ready http/m.test(buf)) {
        clearTimeout(timer);
        resolve();
      }
      if (buf.length > 100_000) buf = buf.slice(-1000);
    });
    stack!.once('exit', (code) => reject(new Error(`stack exited (${code})`)));
  });
  stack.stdout!.resume(); // keep draining wrangler's output
  return { api: `http://127.0.0.1:${port}`, db: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres` };
}

async function stopStack(): Promise<void> {
  if (!stack || stack.exitCode !== null) return;
  const exited = new Promise((r) => stack!.once('exit', r));
  stack.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
}

async function api(base: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cleanup(db: pg.Client): Promise<void> {
  await db.query(`DELETE FROM public.events_queue WHERE topic = 'discovery.user-signup'
                   AND payload->>'user_id' IN (SELECT id::text FROM auth.users WHERE email LIKE '%@bench.local')`);
  await db.query(`DELETE FROM auth.users WHERE email LIKE '%@bench.local'`); // cascades interests and jobs
}

async function setup(db: pg.Client): Promise<void> {
  await cleanup(db);
  const users = Math.ceil(JOBS / INTERESTS.length);
  await db.query(
    `WITH u AS (INSERT INTO auth.users (id, email)
                SELECT gen_random_uuid(), 'u' || g || '@bench.local' FROM generate_series(1, $1) g RETURNING id)
     INSERT INTO public.user_interests (user_id, interest_id, affinity)
     SELECT u.id, i::uuid, round(random()::numeric, 2) FROM u, unnest($2::text[]) i`,
    [users, INTERESTS],
  );
}

async function benchJobs(db: pg.Client, since: Date) {
  const {
    rows: [r],
  } = await db.query(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE q.status = 'done')::int AS done,
            count(*) FILTER (WHERE q.status = 'error')::int AS errors,
            coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM q.processed_at - q.created_at)), 0) AS p95,
            coalesce(max(extract(epoch FROM q.processed_at - q.created_at)), 0) AS max
       FROM public.marketplace_discovery_queue q JOIN auth.users u ON u.id = q.user_id
      WHERE u.email LIKE '%@bench.local' AND q.created_at >= $1`,
    [since],
  );
  return r as { total: number; done: number; errors: number; p95: number; max: number };
}

async function run(variant: Variant, base: string, db: pg.Client): Promise<Result> {
  const {
    rows: [{ now }],
  } = await db.query('SELECT now() AS now');
  const started = Date.now();
  // Enqueue: one call per bench user, as PUT /v1/me/interests would (jobs + outbox row each).
  await db.query(`SELECT count(public.enqueue_discovery_for_user(id)) FROM auth.users WHERE email LIKE '%@bench.local'`);
  const enqueueS = (Date.now() - started) / 1000;

  let maxQueuedP95 = 0;
  let sampling = true;
  const sampler = (async () => {
    const s = new pg.Client(dbConfig);
    await s.connect();
    while (sampling) {
      const { rows } = await s.query(`SELECT p95_age_sec FROM public.vw_discovery_queue_health WHERE status = 'queued'`);
      maxQueuedP95 = Math.max(maxQueuedP95, Number(rows[0]?.p95_age_sec ?? 0));
      await sleep(1000);
    }
    await s.end();
  })();

  if (variant === 'queue') {
    // The cron's relay, run now (and again if one run's time budget did not cover the backlog).
    let relayed = 0;
    while (relayed < JOBS) {
      const r = await api(base, '/functions/v1/rocker-discovery-run');
      if (r.relayed === 0) break;
      relayed += r.relayed;
    }
  } else {
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        for (;;) {
          const r = await api(base, '/functions/v1/queue-worker', { topic: 'discovery.user-signup', limit: LIMIT, ttl: 120 });
          if (r.processed === 0 && r.errors === 0) break;
        }
      }),
    );
  }
  let state = await benchJobs(db, now);
  while (state.done + state.errors < JOBS && Date.now() - started < TIMEOUT_MS) {
    await sleep(250);
    state = await benchJobs(db, now);
  }
  const wallS = (Date.now() - started) / 1000;
  sampling = false;
  await sampler;
  state = await benchJobs(db, now);
  if (state.total !== JOBS) throw new Error(`${variant}: expected ${JOBS} jobs, found ${state.total}`);
  if (state.done + state.errors < JOBS) throw new Error(`${variant}: only ${state.done} of ${JOBS} done after ${TIMEOUT_MS / 1000} s`);
  return {
    variant,
    jobs: JOBS,
    enqueueS,
    wallS,
    maxQueuedP95,
    p95ToDone: Number(state.p95),
    maxToDone: Number(state.max),
    errors: state.errors,
  };
}

let dbConfig: pg.ClientConfig = {};

async function main() {
  const external = process.env.API_URL && process.env.DATABASE_URL;
  const { api: base, db: url } = external ? { api: process.env.API_URL!, db: process.env.DATABASE_URL! } : await startStack();
  dbConfig = { connectionString: url };
  const db = new pg.Client(dbConfig);
  await db.connect();
  try {
    console.log(
      `discovery bench: ${JOBS} jobs (${Math.ceil(JOBS / INTERESTS.length)} users × ${INTERESTS.length} interests), ` +
        `http drain ${WORKERS} callers × limit ${LIMIT}, against ${base}`,
    );
    await setup(db);
    const results: Result[] = [];
    for (const variant of ORDER) {
      const r = await run(variant, base, db);
      results.push(r);
      console.log(`  ${variant}: ${r.wallS.toFixed(1)} s`);
    }
    const baseline = results[0]!;
    const f = (n: number, d = 1) => n.toFixed(d);
    console.log('');
    console.log(
      '| path | jobs | enqueue s | enqueue→all done s | jobs/s | ratio | max p95_age_sec (queued) | p95 enqueue→done s | max s | errors |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      const rate = r.jobs / r.wallS;
      console.log(
        `| ${r.variant === 'queue' ? 'queue (relay → DISCOVERY consumer)' : `http (queue-worker ×${WORKERS}, limit ${LIMIT})`} | ${r.jobs} | ${f(r.enqueueS, 2)} | ${f(r.wallS)} | ${f(rate)} | ${f(rate / (baseline.jobs / baseline.wallS), 2)}× | ${f(r.maxQueuedP95)} | ${f(r.p95ToDone)} | ${f(r.maxToDone)} | ${r.errors} |`,
      );
    }
    console.log('');
    console.log(
      `guide alert: p95_age_sec of queued jobs > 300 s — ${results.map((r) => `${r.variant} ${r.maxQueuedP95 > 300 ? 'WOULD FIRE' : 'stays below'} (${f(r.maxQueuedP95)} s)`).join(', ')}`,
    );
    await cleanup(db);
  } finally {
    await db.end();
    await stopStack();
  }
}

main().catch(async (err) => {
  console.error(`bench failed: ${(err as Error).message}`);
  await stopStack();
  process.exit(1);
});
