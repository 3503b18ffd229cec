// bench/influence — what issue 12's bounds cost Postgres: the consumer's and the rollup's statements
// as they were before (read from git at BENCH_BASE, the commit before issue 12) and as they are now,
// alternating in one process on the same rows, BENCH_ROUNDS rounds, best round reported. The figure
// is the Postgres backend's CPU (from /proc: other load on a shared machine moves wall time, not it).
//   impressions        100k events, batches of 100 decisions × 10 items, no reward waiting
//   impressions+parked the same with a parked reward for 1 % of the items, half of them out of range
//   rewards            20k rewards in batches of 100 onto impressions that are there
//   rollup             the rollup's main statement over a tail of 100k events (10 % rewarded), 200
//                      registered candidates, 5,000 users: before, every id into
//                      learning_candidate_stats; now, known ids only and the per-user-day bound
//                      (which writes one learning_candidate_user_days row per user, candidate, day)
//   npx tsx bench/influence.ts    BENCH_ROUNDS=3 BENCH_PG_PORT=55406 BENCH_BASE=8bd9f79
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { envNumber, ROOT } from '../scripts/lib/env';
import { migrate } from '../scripts/lib/migrate';
import { startPgChild } from '../scripts/lib/pg-child';
import { pgDb } from '../scripts/lib/pg-db';
import { simDecisionId } from '../scripts/lib/sim-world';
import { type Db, transaction } from '../src/db/sql';
import * as ingestNow from '../src/learning/queries-ingest';
import * as rollupNow from '../src/learning/queries-rollup';
import { epsilonGreedySlate, rngForDecision } from '../src/ranker';

const ROUNDS = envNumber('BENCH_ROUNDS', 3);
const PORT = envNumber('BENCH_PG_PORT', 55406);
const BASE = process.env.BENCH_BASE ?? '8bd9f79';

/** A module of BASE, its relative imports pointed at today's files (only the statements differ). */
async function moduleAt<T>(dir: string, file: string): Promise<T> {
  const text = execFileSync('git', ['show', `${BASE}:${file}`], { cwd: ROOT, encoding: 'utf8' }).replace(
    /from '(\.{1,2}\/[^']+)'/g,
    (_, rel: string) => `from '${pathToFileURL(path.resolve(ROOT, path.dirname(file), rel)).href}'`,
  );
  const out = path.join(dir, path.basename(file));
  writeFileSync(out, text);
  return import(pathToFileURL(out).href) as Promise<T>;
}

// Inside the repository (.tmp/ is ignored), so the old modules resolve drizzle-orm and zod as today's do.
mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
const tmp = await mkdtemp(path.join(ROOT, '.tmp', 'bench-influence-'));
const ingestThen = await moduleAt<typeof ingestNow>(tmp, 'src/learning/queries-ingest.ts');
const rollupThen = await moduleAt<typeof rollupNow>(tmp, 'src/learning/queries-rollup.ts');

const cands = Array.from({ length: 200 }, (_, i) => ({ id: `item-${i}`, score: ((i * 7919) % 1000) / 1000 }));
const decisions: ingestNow.DecisionLog[] = Array.from({ length: 10_000 }, (_, i) => {
  const id = simDecisionId('influence', i);
  return {
    decision_id: id,
    user_id: simDecisionId('user', i % 5000),
    surface: 'feed',
    policy: 'epsilon_greedy_v1',
    ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    context: { page: 'home' },
    events: epsilonGreedySlate(cands, 10, 0.08, rngForDecision(id)).map((it) => ({
      candidate_id: it.candidate_id,
      position: it.position,
      score: it.score,
      p_exp: it.p_exp,
      explored: it.explored,
      ...it.ope,
    })),
  };
});

type Case = { name: string; prepare: (c: pg.Client) => Promise<void>; run: (db: Db, then: boolean) => Promise<unknown> };

const reset =
  'TRUNCATE public.learning_events, public.learning_reward_deltas, public.learning_rewards, public.learning_policy_daily, public.learning_candidate_stats, public.learning_candidate_user_days';
const parked = async (c: pg.Client) => {
  const firsts = decisions.filter((_, i) => i % 10 === 0).map((d) => ({ d: d.decision_id, c: d.events[0]!.candidate_id, u: d.user_id }));
  await c.query(
    `INSERT INTO public.learning_rewards (decision_id, candidate_id, user_id, reward)
     SELECT (x->>'d')::uuid, x->>'c', (x->>'u')::uuid, CASE WHEN n % 2 = 0 THEN 1 ELSE 5 END
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(x, n)`,
    [JSON.stringify(firsts)],
  );
};
const impressions = (db: Db, then: boolean) =>
  (async () => {
    for (let i = 0; i < decisions.length; i += 100)
      await (then ? ingestThen : ingestNow).insertImpressions(db, decisions.slice(i, i + 100));
  })();

const CASES: Case[] = [
  { name: 'impressions', prepare: async () => {}, run: impressions },
  { name: 'impressions+parked', prepare: parked, run: impressions },
  {
    name: 'rewards',
    prepare: async (c) => {
      for (let i = 0; i < 2000; i += 100) await ingestNow.insertImpressions(pgDb(c), decisions.slice(i, i + 100));
    },
    run: async (db, then) => {
      const rewards = decisions
        .slice(0, 2000)
        .flatMap((d) =>
          d.events.map((e) => ({ decision_id: d.decision_id, candidate_id: e.candidate_id, user_id: d.user_id!, reward: 1, ts: d.ts })),
        );
      for (let i = 0; i < rewards.length; i += 100) await (then ? ingestThen : ingestNow).recordRewards(db, rewards.slice(i, i + 100));
    },
  },
  {
    name: 'rollup',
    prepare: async (c) => {
      await c.query(`UPDATE public.learning_rollup_state SET watermark = '0'`);
      await c.query(`INSERT INTO public.learning_events (ts, user_id, surface, candidate_id, policy, p_exp, explored, decision_id, position)
        SELECT now() - make_interval(secs => g % 300), md5('u' || (g / 10) % 5000)::uuid, 'feed', 'item-' || ((g / 10) * 7 + g % 10) % 200,
               'epsilon_greedy_v1', 0.9, g % 12 = 0, md5('d' || g / 10)::uuid, g % 10
        FROM generate_series(0, 99999) g`);
      await c.query('UPDATE public.learning_events SET reward = 1 WHERE id % 10 = 0');
      await c.query('VACUUM ANALYZE public.learning_events');
    },
    run: (db, then) =>
      transaction(db, async (tx) => {
        const range = await rollupNow.rollupRange(tx);
        return (then ? rollupThen : rollupNow).rollUp(tx, range);
      }),
  },
];

const server = await startPgChild({
  port: PORT,
  dataDir: await mkdtemp(path.join(os.tmpdir(), 'bench-influence-pg-')),
  ephemeral: true,
  durable: true,
});
try {
  await migrate(server.url);
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const cpu = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  await c.query(`INSERT INTO public.surface_candidates (surface, candidate_id) SELECT 'feed', 'item-' || g FROM generate_series(0, 199) g`);
  console.log(
    `bench/influence: statements at ${BASE} vs now, PostgreSQL on 127.0.0.1:${PORT} (fsync on), ${ROUNDS} rounds, backend CPU seconds`,
  );
  const best = new Map<string, { before: number; now: number }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of CASES) {
      for (const then of [true, false]) {
        await c.query(reset);
        await k.prepare(c);
        await c.query('CHECKPOINT');
        const c0 = cpu();
        await k.run(pgDb(c), then);
        const s = (cpu() - c0) / 1000;
        const b = best.get(k.name) ?? { before: Infinity, now: Infinity };
        const key = then ? 'before' : 'now';
        b[key] = Math.min(b[key], s);
        best.set(k.name, b);
        console.log(`  round ${r + 1} ${k.name.padEnd(19)} ${then ? 'before' : 'now   '} ${s.toFixed(2)} s`);
      }
    }
  }
  console.log(`\nvariant              before     now   now/before   (best of ${ROUNDS})`);
  for (const [name, b] of best) {
    console.log(
      `${name.padEnd(19)} ${b.before.toFixed(2).padStart(7)} ${b.now.toFixed(2).padStart(7)}   ${(b.now / b.before).toFixed(2)}×`,
    );
  }
  await c.end();
} finally {
  await server.stop();
}
