// The learning rollup's statements (the order and the reasons are in rollup.ts). All of them run
// inside the rollup's one transaction.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, execute, queryOne } from '../db/sql';
import { BOUNDED_CANDIDATE_STATS } from './queries-candidate-stats';
import { joinRange, REJECTION_TEXT, rangeMax, rangeMin, rejectedRewardsMetric } from './queries-reward-ranges';

/** Wait at most 20 s for a lock, then take the rollup's advisory lock (queues concurrent runs). */
export async function lockRollup(tx: Db, lockId: number): Promise<void> {
  await execute(tx, sql`SET LOCAL lock_timeout = '20s'`);
  await execute(tx, sql`SELECT pg_advisory_xact_lock(${lockId})`);
}

// A parked reward is applied only if it is inside the reward range of its impression's real
// surface; outside it, it is marked rejected (kept, counted in learning.rewards_rejected).
const SWEEP_PENDING_REWARDS = sql`
WITH pending AS (
  SELECT pr.decision_id, pr.candidate_id, pr.user_id, pr.reward, le.id AS event_id, le.reward AS current, le.surface,
         ${rangeMin('rr')} AS min_reward, ${rangeMax('rr')} AS max_reward, pr.reward BETWEEN ${rangeMin('rr')} AND ${rangeMax('rr')} AS in_range
  FROM public.learning_rewards pr
  JOIN public.learning_events le
    ON le.decision_id = pr.decision_id AND le.candidate_id = pr.candidate_id AND le.user_id = pr.user_id
  ${joinRange('le.surface', 'rr')}
  WHERE pr.applied_at IS NULL AND pr.rejected_at IS NULL
), upd AS (
  UPDATE public.learning_events le SET reward = p.reward
  FROM pending p WHERE le.id = p.event_id AND p.in_range AND p.current IS NULL AND le.reward IS NULL
  RETURNING le.id
), mark AS (
  UPDATE public.learning_rewards pr
  SET applied_at = CASE WHEN p.in_range THEN now() END, rejected_at = CASE WHEN NOT p.in_range THEN now() END,
      surface = p.surface, rejection = CASE WHEN NOT p.in_range THEN ${REJECTION_TEXT('p')} END
  FROM pending p
  WHERE pr.decision_id = p.decision_id AND pr.candidate_id = p.candidate_id AND pr.user_id = p.user_id
  RETURNING pr.surface, pr.rejected_at
), ${rejectedRewardsMetric('mark')}
SELECT (SELECT count(*) FROM upd)::int AS merged, (SELECT count(*) FROM mark)::int AS resolved,
       (SELECT count(*) FROM mark WHERE rejected_at IS NOT NULL)::int AS rejected`;

/** Merge rewards that raced their impression into the now-present rows (or reject them: out of range). */
export const sweepPendingRewards = (tx: Db) =>
  queryOne(
    tx,
    'learning.sweep_pending_rewards',
    z.object({ merged: col.number, resolved: col.number, rejected: col.number }),
    SWEEP_PENDING_REWARDS,
  );

/**
 * Drop parked (and rejected) rewards older than `pending` and applied ones older than `applied`
 * (intervals), in bounded batches.
 */
export const expireRewards = (tx: Db, pending: string, applied: string) =>
  queryOne(
    tx,
    'learning.expire_rewards',
    z.object({ expired_pending: col.number, deleted: col.number }),
    sql`
WITH gone AS (
  DELETE FROM public.learning_rewards
  WHERE ctid = ANY (
    ARRAY(SELECT ctid FROM public.learning_rewards WHERE applied_at IS NULL AND received_at < now() - ${pending}::interval LIMIT 5000)
    || ARRAY(SELECT ctid FROM public.learning_rewards WHERE applied_at IS NOT NULL AND applied_at < now() - ${applied}::interval LIMIT 5000))
  RETURNING applied_at, rejected_at
)
SELECT count(*) FILTER (WHERE applied_at IS NULL AND rejected_at IS NULL)::int AS expired_pending, count(*)::int AS deleted FROM gone`,
  );

// Rollup rows past the learning_events retention window (plus a margin) are no longer read by
// vw_policy_health or hydrate-features; drop them in bounded batches.
const EXPIRE_ROLLUPS = sql`
WITH cutoff AS (SELECT now() - public.retention_for('learning_events', interval '90 days') - interval '7 days' AS t),
daily AS (
  DELETE FROM public.learning_policy_daily WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM public.learning_policy_daily, cutoff WHERE day < (cutoff.t AT TIME ZONE 'UTC')::date LIMIT 5000))
  RETURNING 1
), stale AS (
  DELETE FROM public.learning_candidate_stats WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM public.learning_candidate_stats, cutoff WHERE last_event_at < cutoff.t LIMIT 5000))
  RETURNING 1
)
SELECT (SELECT count(*) FROM daily)::int + (SELECT count(*) FROM stale)::int AS deleted`;

export const expireRollups = (tx: Db) => queryOne(tx, 'learning.expire_rollups', z.object({ deleted: col.number }), EXPIRE_ROLLUPS);

/**
 * The state row is created by the migration; recreate it if an operator deleted it. Then the
 * range to roll up: [watermark, horizon), horizon = the oldest transaction still running.
 */
export async function rollupRange(tx: Db): Promise<{ watermark: string; horizon: string }> {
  await execute(tx, sql`INSERT INTO public.learning_rollup_state (name) VALUES ('learning') ON CONFLICT (name) DO NOTHING`);
  return queryOne(
    tx,
    'learning.rollup_range',
    z.object({ watermark: col.text, horizon: col.text }),
    sql`
    SELECT watermark::text AS watermark, pg_snapshot_xmin(pg_current_snapshot())::text AS horizon
    FROM public.learning_rollup_state WHERE name = 'learning'`,
  );
}

const rollUpSql = (watermark: string, horizon: string) => sql`
WITH tail AS (
  SELECT le.policy, le.surface, le.candidate_id, le.user_id, le.id AS event_id, (le.ts AT TIME ZONE 'UTC')::date AS day, le.ts,
         (le.decision_id IS NULL OR le."position" = 0) AS is_decision, le.explored, le.p_exp,
         public.learning_greedy_weight(le.p_prefix, le.greedy_prefix, le.p_exp, le.explored) AS w
  FROM public.learning_events le
  WHERE le.ins_xid >= ${watermark}::xid8 AND le.ins_xid < ${horizon}::xid8
), deltas AS (
  DELETE FROM public.learning_reward_deltas
  RETURNING event_id, policy, surface, candidate_id, (ts AT TIME ZONE 'UTC')::date AS day, ts, w_greedy, d_reward, d_count
), facts AS (
  SELECT policy, surface, candidate_id, day, ts, is_decision::int AS decisions, 1 AS impressions,
         explored::int AS explored, p_exp, (w IS NOT NULL)::int AS w_n, coalesce(w, 0) AS w, coalesce(w * w, 0) AS w_sq,
         0 AS rewarded, 0::float8 AS reward_sum, 0::float8 AS wr
  FROM tail
  UNION ALL
  SELECT policy, surface, candidate_id, day, ts, 0, 0, 0, 0, 0, 0, 0, d_count, d_reward, coalesce(w_greedy * d_reward, 0)
  FROM deltas
), pol AS (
  INSERT INTO public.learning_policy_daily AS t (policy, surface, day, decisions, impressions, explored, p_exp_sum,
    rewarded, reward_sum, w_n, w_sum, w_sq_sum, wr_sum, last_event_at)
  SELECT policy, surface, day, sum(decisions), sum(impressions), sum(explored), sum(p_exp), sum(rewarded),
         sum(reward_sum), sum(w_n), sum(w), sum(w_sq), sum(wr), max(ts) FILTER (WHERE impressions > 0)
  FROM facts GROUP BY policy, surface, day
  ON CONFLICT (policy, surface, day) DO UPDATE SET
    decisions = t.decisions + EXCLUDED.decisions, impressions = t.impressions + EXCLUDED.impressions,
    explored = t.explored + EXCLUDED.explored, p_exp_sum = t.p_exp_sum + EXCLUDED.p_exp_sum,
    rewarded = t.rewarded + EXCLUDED.rewarded, reward_sum = t.reward_sum + EXCLUDED.reward_sum,
    w_n = t.w_n + EXCLUDED.w_n, w_sum = t.w_sum + EXCLUDED.w_sum, w_sq_sum = t.w_sq_sum + EXCLUDED.w_sq_sum,
    wr_sum = t.wr_sum + EXCLUDED.wr_sum, last_event_at = greatest(t.last_event_at, EXCLUDED.last_event_at),
    updated_at = now()
  RETURNING 1
), ${BOUNDED_CANDIDATE_STATS}, adv AS (
  UPDATE public.learning_rollup_state s SET
    watermark = greatest(s.watermark, ${horizon}::xid8), last_run_at = now(),
    events_rolled = s.events_rolled + (SELECT count(*) FROM tail),
    rewards_rolled = s.rewards_rolled + (SELECT count(*) FROM deltas)
  WHERE s.name = 'learning'
  RETURNING s.watermark::text AS watermark
)
SELECT (SELECT count(*) FROM tail)::int AS events, (SELECT count(*) FROM deltas)::int AS rewards,
       (SELECT count(*) FROM pol)::int AS policy_rows, (SELECT count(*) FROM cand)::int AS candidate_rows,
       (SELECT watermark FROM adv) AS watermark`;

const RolledUp = z.object({
  events: col.number,
  rewards: col.number,
  policy_rows: col.number,
  candidate_rows: col.number,
  watermark: col.text,
});

/** Fold the events inserted in [watermark, horizon) and all reward deltas into the rollups; advance the watermark. */
export const rollUp = (tx: Db, range: { watermark: string; horizon: string }) =>
  queryOne(tx, 'learning.roll_up', RolledUp, rollUpSql(range.watermark, range.horizon));
