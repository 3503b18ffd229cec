// bench/ingest — 100k learning events into learning_events, three ways, one process run:
//   consumer  the EVENTS consumer's insert path (insertImpressions: one statement per consumer
//             batch of 100 messages = 1,000 rows, idempotent ON CONFLICT + pending-reward merge)
//   copy      COPY … FROM STDIN of the same rows (the bulk-load ceiling)
//   per-row   one INSERT per row (what a naive consumer would do)
// Same table, indexes and triggers for all three; the table is truncated between runs; consumer
// and COPY alternate over BENCH_ROUNDS rounds (best round reported). Targets: consumer ≥ 0.5× COPY
// and ≥ 20× per-row. Postgres: a throwaway embedded one (child process) on BENCH_PG_PORT.
// Reported twice: rows per wall-clock second, and rows per CPU second (this process + the Postgres
// backend, from /proc) — on a shared machine the CPU figure is the one other load does not move.
// Durability as in production: fsync on (the test harness runs Postgres with fsync off for speed,
// which makes a commit — and so one-INSERT-per-row — unrealistically cheap); BENCH_FSYNC=off to compare.
//   npx tsx bench/ingest.ts    BENCH_EVENTS=100000  BENCH_ROUNDS=2  BENCH_PG_PORT=55403  BENCH_FSYNC=on
//   BENCH_PER_ROW_EVENTS=20000 times the per-row variant on the first N rows only (a rate; ~4 min for 100k)
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { envNumber } from '../scripts/lib/env';
import { migrate } from '../scripts/lib/migrate';
import { startPgChild } from '../scripts/lib/pg-child';
import { pgDb } from '../scripts/lib/pg-db';
import { simDecisionId } from '../scripts/lib/sim-world';
import { type DecisionLog, insertImpressions } from '../src/learning/queries-ingest';
import { epsilonGreedySlate, rngForDecision } from '../src/ranker';

const EVENTS = envNumber('BENCH_EVENTS', 100_000);
const ROUNDS = envNumber('BENCH_ROUNDS', 2);
const PORT = envNumber('BENCH_PG_PORT', 55403);
const FSYNC = process.env.BENCH_FSYNC !== 'off';
const PER_ROW = envNumber('BENCH_PER_ROW_EVENTS', EVENTS);
const SLATE = 10;
const BATCH_MESSAGES = 100; // max_batch_size of the edge-events consumer

// Realistic rows: decisions of the real policy over 200 candidates.
const cands = Array.from({ length: 200 }, (_, i) => ({ id: `item-${i}`, score: ((i * 7919) % 1000) / 1000 }));
const decisions: DecisionLog[] = [];
for (let i = 0; decisions.length * SLATE < EVENTS; i++) {
  const id = simDecisionId('ingest', i);
  const items = epsilonGreedySlate(cands, SLATE, 0.08, rngForDecision(id));
  decisions.push({
    decision_id: id,
    user_id: simDecisionId('user', i % 5000),
    surface: 'feed',
    policy: 'epsilon_greedy_v1',
    ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    context: { page: 'home', device: 'ios' },
    events: items.map((it) => ({
      candidate_id: it.candidate_id,
      position: it.position,
      score: it.score,
      p_exp: it.p_exp,
      explored: it.explored,
      ...it.ope,
    })),
  });
}
const rows = decisions.flatMap((d) => d.events.map((e) => ({ ...e, d })));
const COLS = [
  'ts',
  'user_id',
  'surface',
  'candidate_id',
  'policy',
  'p_exp',
  'score',
  'explored',
  'context',
  'decision_id',
  'position',
  'n_remaining',
  'is_greedy',
  'p_prefix',
  'greedy_prefix',
  'q_greedy',
  'q_mean',
];
const values = (r: (typeof rows)[number]) => [
  r.d.ts,
  r.d.user_id,
  r.d.surface,
  r.candidate_id,
  r.d.policy,
  r.p_exp,
  r.score,
  r.explored,
  JSON.stringify(r.d.context),
  r.d.decision_id,
  r.position,
  r.n_remaining,
  r.is_greedy,
  r.p_prefix,
  r.greedy_prefix,
  r.q_greedy,
  r.q_mean,
];

const copyText = (v: unknown) =>
  v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');

async function consumer(c: pg.Client) {
  const db = pgDb(c);
  for (let i = 0; i < decisions.length; i += BATCH_MESSAGES) await insertImpressions(db, decisions.slice(i, i + BATCH_MESSAGES));
}

async function copy(c: pg.Client) {
  const stream = c.query(copyFrom(`COPY public.learning_events (${COLS.map((x) => `"${x}"`).join(', ')}) FROM STDIN`));
  await pipeline(
    Readable.from(
      (function* () {
        for (let i = 0; i < rows.length; i += 1000) {
          yield `${rows
            .slice(i, i + 1000)
            .map((r) => values(r).map(copyText).join('\t'))
            .join('\n')}\n`;
        }
      })(),
    ),
    stream,
  );
}

async function perRow(c: pg.Client) {
  const text = `INSERT INTO public.learning_events (${COLS.map((x) => `"${x}"`).join(', ')}) VALUES (${COLS.map((_, i) => `$${i + 1}`).join(', ')})
                ON CONFLICT (decision_id, candidate_id) WHERE decision_id IS NOT NULL DO NOTHING`;
  for (const r of rows.slice(0, PER_ROW)) await c.query(text, values(r));
}

/** CPU ms of this process plus the connection's backend (utime + stime, clock ticks of 10 ms). */
function cpuMeter(backendPid: number) {
  return () => {
    const u = process.cpuUsage();
    let backend = 0;
    try {
      const f = readFileSync(`/proc/${backendPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      backend = (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      /* not Linux: client CPU only */
    }
    return (u.user + u.system) / 1000 + backend;
  };
}

interface Rate {
  wall: number;
  cpu: number;
}

async function timed(
  c: pg.Client,
  cpu: () => number,
  name: string,
  fn: (c: pg.Client) => Promise<void>,
  count = rows.length,
): Promise<Rate> {
  await c.query('TRUNCATE public.learning_events, public.learning_reward_deltas, public.learning_rewards');
  await c.query('CHECKPOINT');
  const c0 = cpu();
  const t = performance.now();
  await fn(c);
  const s = (performance.now() - t) / 1000;
  const cs = (cpu() - c0) / 1000;
  const [{ n }] = (await c.query('SELECT count(*)::int AS n FROM public.learning_events')).rows;
  if (n !== count) throw new Error(`${name}: ${n} rows, expected ${count}`);
  console.log(
    `  ${name.padEnd(9)} ${n} rows, ${s.toFixed(2)} s wall, ${cs.toFixed(2)} s CPU  →  ${Math.round(n / s)} rows/s, ${Math.round(n / cs)} rows/CPU-s`,
  );
  return { wall: n / s, cpu: n / cs };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-ingest-pg-'));
const server = await startPgChild({ port: PORT, dataDir, ephemeral: true, durable: FSYNC });
try {
  await migrate(server.url);
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  console.log(
    `bench/ingest: ${rows.length} learning events (${decisions.length} decisions × ${SLATE}), PostgreSQL ${(await c.query('SHOW server_version')).rows[0].server_version}` +
      ` on 127.0.0.1:${PORT}, fsync ${(await c.query('SHOW fsync')).rows[0].fsync}, synchronous_commit ${(await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit}`,
  );
  const cpu = cpuMeter((await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  const best: Record<'consumer' | 'copy' | 'perRow', Rate> = {
    consumer: { wall: 0, cpu: 0 },
    copy: { wall: 0, cpu: 0 },
    perRow: { wall: 0, cpu: 0 },
  };
  const keep = (k: keyof typeof best, r: Rate) => (best[k] = { wall: Math.max(best[k].wall, r.wall), cpu: Math.max(best[k].cpu, r.cpu) });
  for (let r = 0; r < ROUNDS; r++) {
    console.log(`round ${r + 1}`);
    keep('consumer', await timed(c, cpu, 'consumer', consumer));
    keep('copy', await timed(c, cpu, 'copy', copy));
  }
  keep('perRow', await timed(c, cpu, 'per-row', perRow, Math.min(PER_ROW, rows.length)));
  await c.end();

  console.log(`\nvariant      rows/s   vs COPY   vs per-row   rows/CPU-s   vs COPY   vs per-row   (best of ${ROUNDS})`);
  for (const [name, v] of [
    ['consumer', best.consumer],
    ['copy', best.copy],
    ['per-row', best.perRow],
  ] as const) {
    console.log(
      `${name.padEnd(9)} ${String(Math.round(v.wall)).padStart(9)} ${(v.wall / best.copy.wall).toFixed(2).padStart(8)}× ${(v.wall / best.perRow.wall).toFixed(1).padStart(10)}×` +
        ` ${String(Math.round(v.cpu)).padStart(12)} ${(v.cpu / best.copy.cpu).toFixed(2).padStart(8)}× ${(v.cpu / best.perRow.cpu).toFixed(1).padStart(10)}×`,
    );
  }
  for (const unit of ['wall', 'cpu'] as const) {
    const vsCopy = best.consumer[unit] / best.copy[unit];
    const vsRow = best.consumer[unit] / best.perRow[unit];
    console.log(
      `${unit === 'wall' ? 'rows/s    ' : 'rows/CPU-s'}: consumer ≥ 0.5× COPY ${vsCopy >= 0.5 ? 'PASS' : 'FAIL'} (${vsCopy.toFixed(2)}×), ≥ 20× per-row ${vsRow >= 20 ? 'PASS' : 'FAIL'} (${vsRow.toFixed(1)}×)`,
    );
  }
} finally {
  await server.stop();
}
