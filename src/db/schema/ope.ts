// Off-policy evaluation rollups (migration 0720): per (policy, day, surface, target) the additive
// OpeSums of src/ranker/ope.ts, and the reward changes the next rollup folds in. Written and read
// through checked SQL (src/learning/queries-ope*.ts); described here so schema-drift catches a change.
import { bigint, date, doublePrecision, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns';

const sum = (name: string) => doublePrecision(name).notNull().default(0);

export const learningOpeDaily = pgTable(
  'learning_ope_daily',
  {
    policy: text('policy').notNull(),
    surface: text('surface').notNull(),
    day: date('day').notNull(),
    target: text('target').notNull(),
    decisions: bigint('decisions', { mode: 'number' }).notNull().default(0),
    items: bigint('items', { mode: 'number' }).notNull().default(0),
    x: sum('x'),
    x2: sum('x2'),
    xn: sum('xn'),
    n2: sum('n2'),
    w: sum('w'),
    w2: sum('w2'),
    xw: sum('xw'),
    wn: sum('wn'),
    y: sum('y'),
    y2: sum('y2'),
    yn: sum('yn'),
    wp: sum('wp'),
    rho: sum('rho'),
    rhoPrev: sum('rho_prev'),
    clipped: bigint('clipped', { mode: 'number' }).notNull().default(0),
    rMin: doublePrecision('r_min'),
    rMax: doublePrecision('r_max'),
    qMin: doublePrecision('q_min'),
    qMax: doublePrecision('q_max'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.policy, t.day, t.surface, t.target] })],
);

export const learningOpeRewardDeltas = pgTable('learning_ope_reward_deltas', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  eventId: bigint('event_id', { mode: 'number' }).notNull(),
  decisionId: uuid('decision_id').notNull(),
  dReward: doublePrecision('d_reward').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});
