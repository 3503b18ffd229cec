// The learning rollup (cron */5): folds new learning events and reward changes into
// learning_policy_daily (per policy, surface, day) and learning_candidate_stats (per surface,
// candidate; known candidates only, at most one impression and one reward per user, candidate and
// day: queries-candidate-stats.ts) — incrementally:
//  - events: rows inserted by transactions in [watermark, horizon), where horizon is the oldest
//    transaction still running (pg_snapshot_xmin). Everything below it has committed or aborted,
//    so no row can appear there later; an index range scan on ins_xid finds exactly the new rows.
//  - rewards: learning_reward_deltas rows (written by trigger), deleted as they are consumed.
// Both happen in one statement in one transaction with the watermark update, under an advisory
// lock, so concurrent runs never count a row twice. Before that, the sweep merges rewards that
// raced their impression (reward consumer and impression consumer in flight at the same time).
// The statements are in queries-rollup.ts.
import type { Db } from '../db/sql';
import { transaction } from '../db/sql';
import { rollUpOpe } from './queries-ope-daily';
import { expireRewards, expireRollups, lockRollup, rollUp, rollupRange, sweepPendingRewards } from './queries-rollup';

const ROLLUP_LOCK = 7_245_119_200;
/** Pending rewards without an impression are kept this long, applied ones this long (redelivery). */
const PENDING_REWARD_RETENTION = '7 days';
const APPLIED_REWARD_RETENTION = '2 days';

export interface RollupResult {
  merged_rewards: number;
  /** Parked rewards the sweep found outside their impression's surface range (kept as rejected). */
  rejected_rewards: number;
  expired_rewards: number;
  expired_rollup_rows: number;
  events: number;
  rewards: number;
  policy_rows: number;
  candidate_rows: number;
  watermark: string;
  /** OPE per-day sums (queries-ope-daily.ts): rows upserted, reward changes consumed, rows expired. */
  ope_rows: number;
  ope_rewards: number;
  ope_expired: number;
}

/**
 * One rollup run in one transaction (a drizzle transaction holds one connection). Concurrent runs
 * queue on the advisory lock and then find nothing left to count.
 */
export async function runLearningRollup(db: Db): Promise<RollupResult> {
  return transaction(db, async (tx) => {
    await lockRollup(tx, ROLLUP_LOCK);
    const sweep = await sweepPendingRewards(tx);
    const expired = await expireRewards(tx, PENDING_REWARD_RETENTION, APPLIED_REWARD_RETENTION);
    const stale = await expireRollups(tx);
    const range = await rollupRange(tx);
    const r = await rollUp(tx, range);
    const ope = await rollUpOpe(tx, range);
    return {
      merged_rewards: sweep.merged,
      rejected_rewards: sweep.rejected,
      expired_rewards: expired.expired_pending,
      expired_rollup_rows: stale.deleted,
      ...r,
      ...ope,
    };
  });
}
