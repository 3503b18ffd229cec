// Bounded influence (0700): reward ranges per surface, candidates registered per surface, and what
// each user has contributed per candidate and day to the shared statistics.
// The SQL in migrations/ is the truth; test/integration/schema-drift.test.ts compares column by column.
import { bigint, boolean, date, doublePrecision, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns';

export const rewardRanges = pgTable('reward_ranges', {
  /** A surface name, or '*' for the default of every surface without its own row. */
  surface: text('surface').primaryKey(),
  minReward: doublePrecision('min_reward').notNull(),
  maxReward: doublePrecision('max_reward').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by'),
});

export const surfaceCandidates = pgTable(
  'surface_candidates',
  {
    surface: text('surface').notNull(),
    candidateId: text('candidate_id').notNull(),
    registeredAt: ts('registered_at').notNull().defaultNow(),
    registeredBy: text('registered_by'),
  },
  (t) => [primaryKey({ columns: [t.surface, t.candidateId] })],
);

export const learningCandidateUserDays = pgTable(
  'learning_candidate_user_days',
  {
    surface: text('surface').notNull(),
    candidateId: text('candidate_id').notNull(),
    userId: uuid('user_id').notNull(),
    day: date('day').notNull(),
    impression: boolean('impression').notNull().default(false),
    rewardEventId: bigint('reward_event_id', { mode: 'number' }),
    reward: doublePrecision('reward'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.surface, t.candidateId, t.userId, t.day] })],
);
