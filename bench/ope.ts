// bench/ope: GET /admin/policy/ope's database work at production size — the per-day OPE rollups
// plus the unrolled tail (readOpeWindow, exactly what the route runs: one transaction, SET LOCAL
// statement_timeout, two statements) — against the raw scan the route did before issue 12 (window
// functions over learning_events per target). Also checks that both give the same sums.
//
//   npx tsx bench/ope.ts
//
// Workload (defaults; scale with env vars):
//   BENCH_EVENTS=5000000   learning_events rows over BENCH_DAYS, 5 items per decision, 3 surfaces,
//   BENCH_DAYS=30          80 % of them under the measured policy; ε = 0.08 propensities, 1 in 5 rewarded
//   BENCH_RUNS=15          timed runs per query after 2 warm-ups (raw scans: 1 warm-up, then 3 runs, or 1 past 10 s)
//   BENCH_PG_PORT=55430    the throwaway embedded PostgreSQL 17 (temp directory, child process)
//   BENCH_RAW=1            also time the raw scan (0: skip it; it takes minutes at 5 M events)
//   BENCH_KEEP=1           keep database bench_ope afterwards (with BENCH_DATABASE_URL), to EXPLAIN
//   BENCH_REUSE=1          measure a kept bench_ope again (skip the load; re-apply 0720's functions)
// Then the */5 rollup runs once (the cron's job: it folds all history, i.e. the migration's
// backfill), and a 5-minute tail it has not seen is added: new decisions and reward changes on
// rolled ones. BENCH_DATABASE_URL: use that server instead of an embedded one.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { envNumber } from '../scripts/lib/env';
import { MIGRATIONS_DIR, migrate, seed } from '../scripts/lib/migrate';
import { type PgChild, startPgChild } from '../scripts/lib/pg-child';
import { pgDb } from '../scripts/lib/pg-db';
import { readOpeWindow } from '../src/learning/queries-ope';
import { runLearningRollup } from '../src/learning/rollup';
import { OPE_CLIP, OPE_TARGETS, type OpeSums } from '../src/ranker';

const EVENTS = envNumber('BENCH_EVENTS', 5_000_000);
const DAYS = envNumber('BENCH_DAYS', 30);
const RUNS = envNumber('BENCH_RUNS', 15);
const PORT = envNumber('BENCH_PG_PORT', 55430);
const RAW = envNumber('BENCH_RAW', 1);
const REUSE = envNumber('BENCH_REUSE', 0);
const BUDGET_MS = 100;
const POLICY = 'epsilon_greedy_v1';

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** One ε = 0.08 item per row: slot g % 5 of decision g / 5, 50 candidates, ~8 % explored. */
const eventsSql = (from: number, to: number, tsExpr: string, idPrefix: string) => `
  INSERT INTO public.learning_events (ts, surface, candidate_id, policy, p_exp, score, explored, reward, decision_id, "position",
                                      n_remaining, is_greedy, q_greedy, q_mean)
  SELECT ${tsExpr}, (ARRAY['feed','search','home'])[1 + (g / 5) % 3], 'cand_' || ((hashint4(g / 5) & 1023) + g % 5),
         CASE WHEN (g / 5) % 10 < 8 THEN '${POLICY}' ELSE 'linucb_v0' END,
         CASE WHEN x.greedy THEN 0.92 + 0.08 / (50 - g % 5) ELSE 0.08 / (50 - g % 5) END,
         (hashint4(g * 7) & 1023) / 1024.0, NOT x.greedy,
         CASE WHEN g % 5 = 0 THEN ((hashint4(g * 13) & 3) = 0)::int END,
         md5('${idPrefix}' || (g / 5))::uuid, g % 5, 50 - g % 5, x.greedy, 0.9, 0.45
  FROM generate_series(${from}, ${to}) g, LATERAL (SELECT (hashint4(g * 31) & 1023) >= 82 AS greedy) x`;

async function load(c: pg.Client): Promise<void> {
  await c.query(`SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; SET work_mem = '64MB'`);
  for (let done = 0; done < EVENTS; done += 1_000_000) {
    const n = Math.min(1_000_000, EVENTS - done);
    const t = performance.now();
    await c.query(
      eventsSql(
        done,
        done + n - 1,
        `now() - interval '6 minutes' - make_interval(secs => ((g / 5)::float8 * 5 / ${EVENTS}) * ${DAYS} * 86400)`,
        'd',
      ),
    );
    log(`learning_events ${done + n}/${EVENTS} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  await c.query('VACUUM ANALYZE public.learning_events');
  const t = performance.now();
  const rolled = await runLearningRollup(pgDb(c));
  // What autovacuum does within a minute of the rollup's deletes: without it the consumed delta
  // tables keep every page of the one-off 250,000-row backlog and each read scans them empty.
  await c.query('VACUUM ANALYZE public.learning_reward_deltas, public.learning_ope_reward_deltas, public.learning_ope_daily');
  log(
    `learning rollup (the cron's job, all history = the migration's backfill): ${rolled.events} events → ${rolled.ope_rows} OPE rows in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  // The tail the next */5 run will fold: 5 minutes of new decisions, and reward changes on rolled ones.
  const tail = Math.max(5, Math.round(((EVENTS / (DAYS * 1440)) * 5) / 5) * 5);
  await c.query(eventsSql(0, tail - 1, `now() - make_interval(secs => (g / 5) * 300.0 * 5 / ${tail})`, 'tail'));
  const changed = await c.query(
    `UPDATE public.learning_events SET reward = 1 WHERE id IN (SELECT id FROM public.learning_events WHERE reward IS NULL AND ts > now() - interval '1 day' LIMIT 200)`,
  );
  log(`unrolled tail: ${tail} events of the last 5 minutes, ${changed.rowCount} reward changes on rolled decisions`);
  await c.query('VACUUM ANALYZE');
}

/** The route's query before issue 12 (git show fb8cb97:src/learning/queries-ope.ts), for the same targets and clip. */
const rawSql = (days: number) => `
WITH t AS (
  SELECT * FROM json_to_recordset('${JSON.stringify(OPE_TARGETS.map((t) => ({ name: t.name, eps: t.epsilon })))}'::json) AS t(name text, eps float8)
), rows AS (
  SELECT le.decision_id, le."position", le.p_exp, le.is_greedy, le.n_remaining, coalesce(le.reward, 0) AS r,
         coalesce(le.score, 0) AS q, coalesce(le.q_greedy, 0) AS q_greedy, coalesce(le.q_mean, 0) AS q_mean,
         CASE WHEN le.n_remaining <= 1 THEN 0 WHEN le.is_greedy THEN (1 - le.p_exp) * le.n_remaining / (le.n_remaining - 1)
              ELSE le.p_exp * le.n_remaining END AS logged_eps
  FROM public.learning_events le
  WHERE le.policy = '${POLICY}' AND le.ts >= now() - make_interval(days => ${days})
    AND le.decision_id IS NOT NULL AND le.p_exp > 0 AND le.n_remaining IS NOT NULL AND le.is_greedy IS NOT NULL
), w AS (
  SELECT t.name, r.decision_id, r."position", r.r, r.q,
         CASE WHEN t.eps IS NULL THEN 1::float8 ELSE ((1 - t.eps) * r.is_greedy::int + t.eps / r.n_remaining) / r.p_exp END AS w,
         (1 - coalesce(t.eps, r.logged_eps)) * r.q_greedy + coalesce(t.eps, r.logged_eps) * r.q_mean AS dm
  FROM rows r CROSS JOIN t
), c AS (
  SELECT name, decision_id, r, q, dm,
         CASE WHEN bool_or(w = 0) OVER upto THEN 0 ELSE exp(sum(ln(nullif(w, 0))) OVER upto) END AS rho,
         coalesce(CASE WHEN bool_or(w = 0) OVER prev THEN 0 ELSE exp(sum(ln(nullif(w, 0))) OVER prev) END, 1) AS rho_prev
  FROM w
  WINDOW upto AS (PARTITION BY name, decision_id ORDER BY "position" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
         prev AS (PARTITION BY name, decision_id ORDER BY "position" ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), d AS (
  SELECT name, decision_id, count(*)::float8 AS n, sum(least(rho, ${OPE_CLIP}) * r) AS x, sum(least(rho, ${OPE_CLIP})) AS wsum,
         sum(least(rho_prev, ${OPE_CLIP}) * dm + least(rho, ${OPE_CLIP}) * (r - q)) AS y
  FROM c GROUP BY name, decision_id
)
SELECT name, count(*)::float8 AS decisions, sum(n) AS items, sum(x) AS x, sum(x * x) AS x2, sum(wsum) AS w, sum(wsum * wsum) AS w2,
       sum(y) AS y, sum(y * y) AS y2
FROM d GROUP BY name`;

async function timeIt(fn: () => Promise<unknown>, runs: number): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** A multi-second query: one warm-up, then the median of 3 runs — or the second run alone past 10 s. */
async function timeSlow(fn: () => Promise<pg.QueryResult>): Promise<{ ms: number; rows: pg.QueryResultRow[] }> {
  await fn();
  const times: number[] = [];
  let rows: pg.QueryResultRow[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    rows = (await fn()).rows;
    times.push(performance.now() - t);
    if (times[0]! > 10_000) break;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, rows };
}

/** The first read on a fresh connection (connecting not timed), median of 5. */
async function coldMedian(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const t = performance.now();
      await fn(c);
      times.push(performance.now() - t);
    } finally {
      await c.end();
    }
  }
  times.sort((a, b) => a - b);
  return times[2]!;
}

function compare(rolled: Map<string, OpeSums>, raw: pg.QueryResultRow[]): string {
  let worst = 0;
  for (const r of raw) {
    const s = rolled.get(r.name)!;
    for (const k of ['decisions', 'items', 'x', 'x2', 'w', 'w2', 'y', 'y2'] as const)
      worst = Math.max(worst, Math.abs(s[k] - Number(r[k])) / Math.max(1, Math.abs(Number(r[k]))));
  }
  return worst < 1e-9
    ? `same sums (max relative difference ${worst.toExponential(1)})`
    : `**sums differ** (max relative difference ${worst})`;
}

async function main() {
  let pgChild: PgChild | undefined;
  let dataDir: string | undefined;
  let serverUrl = process.env.BENCH_DATABASE_URL;
  if (!serverUrl) {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-ope-pg-'));
    pgChild = await startPgChild({ port: PORT, dataDir, ephemeral: true });
    serverUrl = pgChild.url;
    log(`embedded Postgres on ${new URL(serverUrl).host}`);
  }
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  if (!REUSE) {
    await admin.query('DROP DATABASE IF EXISTS bench_ope WITH (FORCE)');
    await admin.query('CREATE DATABASE bench_ope');
  }
  const url = new URL(serverUrl);
  url.pathname = '/bench_ope';
  try {
    if (!REUSE) {
      await migrate(url.toString());
      await seed(url.toString());
    }
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    try {
      if (REUSE) {
        await c.query(await readFile(path.join(MIGRATIONS_DIR, '0720_ope_daily.sql'), 'utf8'));
        log('reusing bench_ope (the functions of 0720 re-applied)');
      } else await load(c);
      const sizes = await c.query(`SELECT (SELECT count(*) FROM public.learning_events) AS learning_events,
        (SELECT count(*) FROM public.learning_ope_daily) AS ope_daily_rows, (SELECT count(*) FROM public.learning_ope_reward_deltas) AS pending_reward_changes`);
      const out: string[] = [
        `workload: ${JSON.stringify(sizes.rows[0])}; policy ${POLICY}, ${OPE_TARGETS.length} targets, clip ${OPE_CLIP}; median of ${RUNS} warm runs (raw scans: 3, or 1 past 10 s, after a warm-up) and of 5 first runs on new connections`,
        '',
        '| window | rollups + tail ms (warm) | (new connection) | raw scan ms | raw / rollups | ≤ 100 ms | check |',
        '|---|---:|---:|---:|---:|:-:|---|',
      ];
      const db = pgDb(c);
      const names = OPE_TARGETS.map((t) => t.name);
      for (const [days, surface] of [
        [7, 'feed'],
        [7, undefined],
        [30, undefined],
        [90, undefined],
      ] as const) {
        const q = { policy: POLICY, days, surface };
        const warm = await timeIt(() => readOpeWindow(db, q, names), RUNS);
        const cold = await coldMedian(url.toString(), (cc) => readOpeWindow(pgDb(cc), q, names));
        let raw = '—';
        let ratio = '—';
        let check = 'surface filter (the raw scan was per policy)';
        if (!surface && RAW) {
          const { ms: rawMs, rows } = await timeSlow(() => c.query(rawSql(days)));
          raw = rawMs.toFixed(0);
          ratio = `${(rawMs / warm).toFixed(0)}×`;
          // Calendar days vs the raw scan's rolling window only agree when the window holds everything.
          check = days >= DAYS + 1 ? compare((await readOpeWindow(db, q, names)).sums, rows) : 'window: UTC days vs rolling (not compared)';
        }
        out.push(
          `| ${days} days${surface ? `, surface ${surface}` : ''} | ${warm.toFixed(1)} | ${cold.toFixed(1)} | ${raw} | ${ratio} | ${warm <= BUDGET_MS ? 'yes' : '**no**'} | ${check} |`,
        );
        log(out.at(-1)!);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    } finally {
      await c.end();
    }
  } finally {
    if (!process.env.BENCH_KEEP) await admin.query('DROP DATABASE IF EXISTS bench_ope WITH (FORCE)').catch(() => {});
    await admin.end();
    await pgChild?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
