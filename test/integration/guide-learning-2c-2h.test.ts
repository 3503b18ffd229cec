// Guide §2C (learning views selectable), §2H (the learning heartbeat: a direct SQL insert shows up
// in vw_policy_health with non-null values at once) and §8 "Learning Not Recording", verbatim,
// on a fresh database; plus the rollup keeping the view exact.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgDb } from '../../scripts/lib/pg-db';
import { runLearningRollup } from '../../src/learning/rollup';
import { guideSql } from '../support/guide';
import { connect, freshDatabase } from '../support/pg';

let db: pg.Client;
let fresh: Awaited<ReturnType<typeof freshDatabase>>;
beforeAll(async () => {
  fresh = await freshDatabase();
  db = await connect(fresh.url);
});
afterAll(async () => {
  await db.end();
  await fresh.drop();
});

const HEARTBEAT_ROW = {
  policy: 'epsilon_greedy_v1',
  decisions: '1',
  impressions: '1',
  exploration_rate: '0.0000',
  epsilon: '0.08',
  rewarded: '1',
  mean_reward: '0.6000',
  reward_per_impression: '0.6000',
  mean_p_exp: '0.0800',
  // The heartbeat is a one-slot greedy decision with p = 0.08: weight 12.5, IPS 12.5 · 0.6.
  ips_greedy: '7.5000',
  snips_greedy: '0.6000',
  ess_greedy: '1.0',
};

describe('guide §2C learning system alive', () => {
  it('all three statements run on an empty database; vw_policy_health is empty at t0', async () => {
    const statements = guideSql('C. Learning System Alive');
    expect(statements).toHaveLength(3);
    const [policyHealth] = statements;
    expect((await db.query(policyHealth!)).rows).toEqual([]);
    for (const sql of statements) expect((await db.query(sql)).command).toBe('SELECT');
  });
});

describe('guide §2H learning heartbeat', () => {
  it('the direct insert shows in vw_policy_health at once: one row, every value non-null', async () => {
    const [insert, select] = guideSql('H. Learning Heartbeat');
    expect(insert).toMatch(/^INSERT INTO public\.learning_events/);
    await db.query(insert!);
    const { rows } = await db.query(select!);
    expect(rows).toHaveLength(1);
    for (const [col, value] of Object.entries(rows[0])) expect(value, col).not.toBeNull();
    expect(rows[0]).toMatchObject(HEARTBEAT_ROW);
  });

  it('the rollup consumes the heartbeat into the rollup tables and the view stays the same', async () => {
    const [, select] = guideSql('H. Learning Heartbeat');
    const before = (await db.query(select!)).rows;
    // Shared candidate statistics take only known candidates (issue 12): 'post_abc' is no catalog
    // id, so an operator registers it for 'feed', as they would a real feed item.
    await db.query(`INSERT INTO public.surface_candidates (surface, candidate_id, registered_by) VALUES ('feed', 'post_abc', 'test')`);
    const result = await runLearningRollup(pgDb(db));
    expect(result).toMatchObject({ events: 1, rewards: 1, policy_rows: 1, candidate_rows: 1 });
    const { rows: daily } = await db.query(
      'SELECT surface, decisions, impressions, rewarded, reward_sum, w_sum, wr_sum FROM public.learning_policy_daily',
    );
    expect(daily).toEqual([
      { surface: 'feed', decisions: '1', impressions: '1', rewarded: '1', reward_sum: 0.6, w_sum: 12.5, wr_sum: 7.5 },
    ]);
    const { rows: cand } = await db.query(
      'SELECT surface, candidate_id, impressions, rewarded, reward_sum FROM public.learning_candidate_stats',
    );
    expect(cand).toEqual([{ surface: 'feed', candidate_id: 'post_abc', impressions: '1', rewarded: '1', reward_sum: 0.6 }]);
    expect((await db.query('SELECT count(*)::int AS n FROM public.learning_reward_deltas')).rows[0].n).toBe(0);
    expect((await db.query(select!)).rows).toEqual(before);

    // A second run finds nothing new; a second heartbeat is counted exactly once more.
    expect(await runLearningRollup(pgDb(db))).toMatchObject({ events: 0, rewards: 0 });
    const [insert] = guideSql('H. Learning Heartbeat');
    await db.query(insert!);
    const twice = (await db.query(select!)).rows[0];
    expect(twice).toMatchObject({
      decisions: '2',
      impressions: '2',
      rewarded: '2',
      mean_reward: '0.6000',
      ips_greedy: '7.5000',
      ess_greedy: '2.0',
    });
    await runLearningRollup(pgDb(db));
    expect((await db.query(select!)).rows[0]).toEqual(twice);
  });

  it('drops rollup rows once they are past the retention window', async () => {
    await db.query(
      `INSERT INTO public.learning_policy_daily (policy, surface, day, impressions) VALUES ('old', 'feed', current_date - 200, 5)`,
    );
    await db.query(`INSERT INTO public.learning_candidate_stats (surface, candidate_id, impressions, first_seen_at, last_event_at)
                    VALUES ('feed', 'gone', 5, now() - interval '200 days', now() - interval '199 days')`);
    expect(await runLearningRollup(pgDb(db))).toMatchObject({ expired_rollup_rows: 2 });
    expect((await db.query(`SELECT 1 FROM public.learning_policy_daily WHERE policy = 'old'`)).rows).toHaveLength(0);
    expect((await db.query(`SELECT 1 FROM public.learning_candidate_stats WHERE candidate_id = 'gone'`)).rows).toHaveLength(0);
    expect((await db.query(`SELECT 1 FROM public.learning_candidate_stats WHERE candidate_id = 'post_abc'`)).rows).toHaveLength(1);
  });

  it('reads rows past the watermark through the ins_xid index, not a scan of learning_events', async () => {
    await db.query('SET enable_seqscan = off');
    try {
      const { rows } = await db.query('EXPLAIN SELECT * FROM public.vw_policy_health');
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/learning_events_ins_xid_idx/);
    } finally {
      await db.query('RESET enable_seqscan');
    }
  });
});

describe('guide §8 learning not recording', () => {
  it('the three checks run and show the flag, the latest events and the RLS policies', async () => {
    const [flag, recent, policies] = guideSql('Learning Not Recording');
    expect((await db.query(flag!)).rows).toMatchObject([{ key: 'learning.enabled', value: { enabled: true } }]);
    const events = (await db.query(recent!)).rows;
    expect(events[0]).toMatchObject({ surface: 'feed', candidate_id: 'post_abc', policy: 'epsilon_greedy_v1' });
    const names = (await db.query(policies!)).rows.map((r) => r.policyname).sort();
    expect(names).toEqual(['learning_events_owner_insert', 'learning_events_owner_select', 'learning_events_service_all']);
  });
});
