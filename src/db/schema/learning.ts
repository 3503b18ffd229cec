// The learning loop: impressions, rewards, their rollups and the per-user feature dirty list (0200).
// The SQL in migrations/ is the truth; test/integration/schema-drift.test.ts compares column by column.
import { bigint, boolean, date, doublePrecision, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { ts, xid8 } from './columns';

export const learningEvents = pgTable('learning_events', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  ts: ts('ts').notNull().defaultNow(),
  userId: uuid('user_id'),
  surface: text('surface').notNull(),
  candidateId: text('candidate_id').notNull(),
  policy: text('policy').notNull(),
  pExp: doublePrecision('p_exp').notNull().default(0),
  score: doublePrecision('score'),
  explored: boolean('explored').notNull().default(false),
  reward: doublePrecision('reward'),
  context: jsonb('context').notNull().default({}),
  decisionId: uuid('decision_id'),
  position: integer('position'),
  // Propensity log for off-policy evaluation (migration 0200) and the rollup's watermark column.
  insXid: xid8('ins_xid').notNull(),
  nRemaining: integer('n_remaining'),
  isGreedy: boolean('is_greedy'),
  pPrefix: doublePrecision('p_prefix'),
  greedyPrefix: boolean('greedy_prefix'),
  qGreedy: doublePrecision('q_greedy'),
  qMean: doublePrecision('q_mean'),
});

export const learningRewards = pgTable(
  'learning_rewards',
  {
    decisionId: uuid('decision_id').notNull(),
    candidateId: text('candidate_id').notNull(),
    userId: uuid('user_id').notNull(),
    reward: doublePrecision('reward').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    appliedAt: ts('applied_at'),
    // 0700: a reward outside its impression's surface range is kept as rejected, with the reason.
    surface: text('surface'),
    rejectedAt: ts('rejected_at'),
    rejection: text('rejection'),
  },
  (t) => [primaryKey({ columns: [t.decisionId, t.candidateId, t.userId] })],
);

export const learningRewardDeltas = pgTable('learning_reward_deltas', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  eventId: bigint('event_id', { mode: 'number' }).notNull(),
  policy: text('policy').notNull(),
  surface: text('surface').notNull(),
  candidateId: text('candidate_id').notNull(),
  ts: ts('ts').notNull(),
  wGreedy: doublePrecision('w_greedy'),
  dReward: doublePrecision('d_reward').notNull(),
  dCount: integer('d_count').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const learningRollupState = pgTable('learning_rollup_state', {
  name: text('name').primaryKey(),
  watermark: xid8('watermark').notNull(),
  eventsRolled: bigint('events_rolled', { mode: 'number' }).notNull().default(0),
  rewardsRolled: bigint('rewards_rolled', { mode: 'number' }).notNull().default(0),
  lastRunAt: ts('last_run_at'),
});

export const learningPolicyDaily = pgTable(
  'learning_policy_daily',
  {
    policy: text('policy').notNull(),
    surface: text('surface').notNull(),
    day: date('day').notNull(),
    decisions: bigint('decisions', { mode: 'number' }).notNull().default(0),
    impressions: bigint('impressions', { mode: 'number' }).notNull().default(0),
    explored: bigint('explored', { mode: 'number' }).notNull().default(0),
    pExpSum: doublePrecision('p_exp_sum').notNull().default(0),
    rewarded: bigint('rewarded', { mode: 'number' }).notNull().default(0),
    rewardSum: doublePrecision('reward_sum').notNull().default(0),
    wN: bigint('w_n', { mode: 'number' }).notNull().default(0),
    wSum: doublePrecision('w_sum').notNull().default(0),
    wSqSum: doublePrecision('w_sq_sum').notNull().default(0),
    wrSum: doublePrecision('wr_sum').notNull().default(0),
    lastEventAt: ts('last_event_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.policy, t.surface, t.day] })],
);

export const learningCandidateStats = pgTable(
  'learning_candidate_stats',
  {
    surface: text('surface').notNull(),
    candidateId: text('candidate_id').notNull(),
    impressions: bigint('impressions', { mode: 'number' }).notNull().default(0),
    explored: bigint('explored', { mode: 'number' }).notNull().default(0),
    rewarded: bigint('rewarded', { mode: 'number' }).notNull().default(0),
    rewardSum: doublePrecision('reward_sum').notNull().default(0),
    firstSeenAt: ts('first_seen_at').notNull(),
    lastEventAt: ts('last_event_at').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.surface, t.candidateId] })],
);

export const featureDirtyUsers = pgTable('feature_dirty_users', {
  userId: uuid('user_id').primaryKey(),
  markedAt: ts('marked_at').notNull().defaultNow(),
});
