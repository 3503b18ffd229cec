// Flag evaluation cost on the request path vs a trivial route of the same Worker.
//
//   npx tsx bench/flags.ts
//
// Starts the local stack (`npm run dev` on PORT / PG_PORT / NEON_WS_PROXY_PORT, default
// 8801 / 55401 / 55402) unless API_URL points at a running one, and drives it from this process
// (the load generator is not the Worker's process). Variants, interleaved request by request so
// drift on a shared machine hits them alike, all through GET /admin/flags/evaluate:
//   trivial   repeat=0      the route with no flag evaluation (auth, query parsing, JSON answer)
//   1 eval    repeat=1      the same route evaluating the flags once, as a request does
//   N evals   repeat=N      amplified, so the per-evaluation cost rises far above the noise:
//                           per evaluation = (N evals − trivial) / N
// for an anonymous caller and for a user while a rollout is running (bucket hashing on).
// Database round trips: the route reports how often the evaluation asked for a database handle,
// and pg_stat_database.sessions counts every connection opened to the database during the run.
//
// Workload: BENCH_ROUNDS rounds (default 1500) × 6 variants, sequential requests over one
// keep-alive connection; BENCH_REPEAT = N (default 1000). Scale with those two env vars.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { adminCall } from '../scripts/lib/api-client';
import { envNumber, ROOT } from '../scripts/lib/env';

const ROUNDS = envNumber('BENCH_ROUNDS', 1500);
const REPEAT = envNumber('BENCH_REPEAT', 1000);
const PORT = process.env.PORT ?? '8801';
const PG_PORT = process.env.PG_PORT ?? '55401';
const PROXY_PORT = process.env.NEON_WS_PROXY_PORT ?? '55402';
const external = process.env.API_URL;
const baseUrl = external ?? `http://127.0.0.1:${PORT}`;
const databaseUrl = process.env.DATABASE_URL ?? `postgres://postgres:postgres@127.0.0.1:${PG_PORT}/postgres`;
const api = { baseUrl };

let dev: ChildProcess | undefined;

async function startStack(): Promise<void> {
  // --no-cron: a cron run mid-measurement (flag sync, sampler) would land in one variant only.
  dev = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/dev.ts'), '--no-cron'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PORT, PG_PORT, NEON_WS_PROXY_PORT: PROXY_PORT },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the stack did not print "ready" within 180 s')), 180_000);
    dev!.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready http')) {
        clearTimeout(timer);
        resolve();
      }
    });
    dev!.once('exit', (code) => reject(new Error(`npm run dev exited (${code})`)));
  });
  dev.stdout!.resume(); // keep draining the Worker's log lines
}

function stopStack(): Promise<void> {
  if (!dev?.pid || dev.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => dev!.once('exit', () => r()));
  process.kill(dev.pid, 'SIGTERM'); // dev.ts stops wrangler, the proxy and Postgres
  return exited;
}

const SERVICE_KEY = process.env.SERVICE_ROLE_KEY ?? 'dev-service-role-key';

async function timed(url: string): Promise<{ ms: number; dbQueries: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${SERVICE_KEY}` } });
  const body = (await res.json()) as { db_queries?: number };
  const ms = performance.now() - started;
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return { ms, dbQueries: body.db_queries ?? 0 };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function sessions(client: pg.Client): Promise<number> {
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ sessions: string }>('SELECT sessions FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]!.sessions);
}

async function main() {
  if (!external) {
    console.log(`starting the local stack on :${PORT} (pg :${PG_PORT}, ws proxy :${PROXY_PORT}) …`);
    await startStack();
  }
  const user = crypto.randomUUID();
  const pgClient = new pg.Client({ connectionString: databaseUrl });
  await pgClient.connect();
  // Thousands of admin reads a minute would meet the admin_read limit (6,000/min, 429s): raise the
  // class default for the run and push it to the edge now (restored at the end), as bench/ratelimit
  // does. The limiter stays on: its cost is part of every variant alike.
  const { rows: limitRows } = await pgClient.query<{ max_requests: number }>(
    "SELECT max_requests FROM public.rate_limits WHERE user_id IS NULL AND route_class = 'admin_read'",
  );
  const adminReadLimit = limitRows[0]?.max_requests ?? 6000;
  await pgClient.query("UPDATE public.rate_limits SET max_requests = 100000000 WHERE user_id IS NULL AND route_class = 'admin_read'");
  await adminCall('POST', '/admin/rate-limits/sync', undefined, api);
  // Flags in KV (what production has after the first sync), and a rollout running so that the
  // user variant exercises bucket hashing. Restored at the end.
  await adminCall('POST', '/admin/flags/sync', undefined, api);
  const { flags } = await adminCall<{ flags: { key: string; value: unknown }[] }>('GET', '/admin/flags', undefined, api);
  const crush = flags.find((f) => f.key === 'crush_mode.enabled')!.value;
  const policy = flags.find((f) => f.key === 'ranker.policy')!.value as Record<string, unknown>;
  await adminCall(
    'PUT',
    '/admin/flags/crush_mode.enabled',
    { value: { enabled: false, rollout: { percent: 50, value: { enabled: true } } }, reason: 'bench/flags.ts' },
    api,
  );
  await adminCall(
    'PUT',
    '/admin/flags/ranker.policy',
    { value: { ...policy, rollout: { percent: 5, value: { version: 'bench_v2' } } }, reason: 'bench/flags.ts' },
    api,
  );

  await pgClient.query('SELECT 1'); // our own session is counted before the measured window
  try {
    const url = (repeat: number, withUser: boolean) =>
      `${baseUrl}/admin/flags/evaluate?repeat=${repeat}${withUser ? `&user_id=${user}` : ''}`;
    const variants = [
      { name: 'anonymous: trivial route (repeat=0)', url: url(0, false) },
      { name: 'anonymous: route + 1 evaluation', url: url(1, false) },
      { name: `anonymous: route + ${REPEAT} evaluations`, url: url(REPEAT, false) },
      { name: 'user+rollouts: trivial route (repeat=0)', url: url(0, true) },
      { name: 'user+rollouts: route + 1 evaluation', url: url(1, true) },
      { name: `user+rollouts: route + ${REPEAT} evaluations`, url: url(REPEAT, true) },
    ];
    for (let i = 0; i < 100; i++) for (const v of variants) await timed(v.url); // warm up

    const sessionsBefore = await sessions(pgClient);
    const samples = variants.map(() => [] as number[]);
    let dbQueries = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, v] of variants.entries()) {
        const { ms, dbQueries: q } = await timed(v.url);
        samples[i]!.push(ms * 1000);
        dbQueries += q;
      }
    }
    await new Promise((r) => setTimeout(r, 2_000)); // let ended backends flush their statistics
    const workerSessions = (await sessions(pgClient)) - sessionsBefore;

    const rows = variants.map((v, i) => ({
      name: v.name,
      median: quantile(samples[i]!, 0.5),
      p90: quantile(samples[i]!, 0.9),
      mean: mean(samples[i]!),
    }));
    const pad = (s: string, n: number) => s.padEnd(n);
    const num = (x: number) => x.toFixed(1).padStart(10);
    console.log(`\nflag evaluation vs a trivial route of the same Worker — ${ROUNDS} rounds, N = ${REPEAT}, µs per request`);
    console.log(`${pad('variant', 44)}${'median'.padStart(10)}${'p90'.padStart(10)}${'mean'.padStart(10)}`);
    for (const r of rows) console.log(`${pad(r.name, 44)}${num(r.median)}${num(r.p90)}${num(r.mean)}`);

    console.log(
      `\n${pad('caller', 16)}${'trivial route µs'.padStart(18)}${'per eval µs'.padStart(13)}${'ratio'.padStart(10)}  (medians; per eval = (N evals − trivial) / N)`,
    );
    for (const [label, base] of [
      ['anonymous', 0],
      ['user+rollouts', 3],
    ] as const) {
      const trivial = rows[base]!.median;
      const perEval = (rows[base + 2]!.median - trivial) / REPEAT;
      const perEvalMean = (rows[base + 2]!.mean - rows[base]!.mean) / REPEAT;
      const direct = rows[base + 1]!.median - trivial;
      console.log(
        `${pad(label, 16)}${trivial.toFixed(1).padStart(18)}${perEval.toFixed(3).padStart(13)}${`${((perEval / trivial) * 100).toFixed(3)} %`.padStart(10)}` +
          `  (1 eval − trivial, within noise: ${direct.toFixed(1)} µs; from means: ${perEvalMean.toFixed(3)} µs per eval)`,
      );
    }
    console.log(
      `\ndatabase round trips: ${dbQueries} requested by ${ROUNDS * variants.length} measured requests ` +
        `(${ROUNDS * (2 + 2 * REPEAT)} evaluations); connections opened to Postgres during the run: ${workerSessions}`,
    );
    if (dbQueries !== 0 || workerSessions !== 0) process.exitCode = 1;
  } finally {
    await pgClient.query("UPDATE public.rate_limits SET max_requests = $1 WHERE user_id IS NULL AND route_class = 'admin_read'", [
      adminReadLimit,
    ]);
    await adminCall('POST', '/admin/rate-limits/sync', undefined, api).catch(() => {});
    await pgClient.end();
    await adminCall('PUT', '/admin/flags/crush_mode.enabled', { value: crush, reason: 'bench/flags.ts restore' }, api).catch(() => {});
    await adminCall('PUT', '/admin/flags/ranker.policy', { value: policy, reason: 'bench/flags.ts restore' }, api).catch(() => {});
  }
}

main()
  .catch((err) => {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  })
  .finally(() => stopStack());
