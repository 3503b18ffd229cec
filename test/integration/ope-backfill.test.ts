// Migration 0721: the OPE per-day sums of everything the learning rollup consumed before 0720 existed,
// with rewards changed in between left for the next rollup run — then equal to the pure sums.
// A private database: the state "rolled up, but no OPE rows yet" is made by emptying the table.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../scripts/lib/migrate';
import { pgDb } from '../../scripts/lib/pg-db';
import { runLearningRollup } from '../../src/learning/rollup';
import { OPE_TARGETS } from '../../src/ranker';
import {
  expectedSums,
  expectSums,
  insertDecisionsSql,
  type LoggedDecision,
  loggedDecisions,
  OPE_POLICY,
  ROLLED_SUMS_SQL,
  rolledSums,
} from '../support/ope-fixture';
import { connect, freshDatabase } from '../support/pg';

let db: pg.Client;
let fresh: { url: string; drop(): Promise<void> };
beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db.end();
  await fresh.drop();
});

const surface = 'ope-backfill';
const rolled = async () => rolledSums((await db.query(ROLLED_SUMS_SQL, [OPE_POLICY, surface])).rows);

describe('the OPE targets', () => {
  it('are the same in SQL (learning_ope_targets) and in TypeScript (OPE_TARGETS), in order', async () => {
    const { rows } = await db.query('SELECT tid, name, eps FROM public.learning_ope_targets() ORDER BY tid');
    expect(rows.map((r) => ({ name: r.name, epsilon: r.eps }))).toEqual(OPE_TARGETS.map((t) => ({ name: t.name, epsilon: t.epsilon })));
  });
});

describe('0721 OPE backfill', () => {
  it('fills the sums as of 0720, and the next rollup adds the rewards changed since', async () => {
    const all: LoggedDecision[] = [...loggedDecisions(150, 0), ...loggedDecisions(50, 3)];
    const [text, params] = insertDecisionsSql(all, surface);
    await db.query(text, params);
    await runLearningRollup(pgDb(db));
    // Before 0720: the rollup had consumed these events, but no OPE sums or deltas existed.
    await db.query('DELETE FROM public.learning_ope_daily');
    await db.query('DELETE FROM public.learning_ope_reward_deltas');
    const before = expectedSums(all, 30);

    // Rewards that change between 0720 and 0721 (recorded by 0720's trigger).
    for (const d of all.slice(0, 40)) {
      const i = d.rewards.indexOf(null);
      if (i < 0) continue;
      await db.query('UPDATE public.learning_events SET reward = 1 WHERE decision_id = $1 AND candidate_id = $2', [
        d.id,
        d.items[i]!.candidate_id,
      ]);
      d.rewards[i] = 1;
    }
    expect((await db.query('SELECT count(*)::int AS n FROM public.learning_ope_reward_deltas')).rows[0].n).toBeGreaterThan(0);

    const backfill = await readFile(path.join(MIGRATIONS_DIR, '0721_ope_backfill.sql'), 'utf8');
    await db.query(backfill);
    let sums = await rolled();
    for (const t of OPE_TARGETS) expectSums(sums.get(t.name), before.get(t.name)!, `backfilled ${t.name}`);

    // Re-running adds nothing.
    await db.query(backfill);
    sums = await rolled();
    for (const t of OPE_TARGETS) expectSums(sums.get(t.name), before.get(t.name)!, `re-run ${t.name}`);

    await runLearningRollup(pgDb(db));
    sums = await rolled();
    const now = expectedSums(all, 30);
    for (const t of OPE_TARGETS) expectSums(sums.get(t.name), now.get(t.name)!, `after the rollup ${t.name}`);
  });
});
