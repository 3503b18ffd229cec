// Users, flags, retention and the guide's catalog / marketplace / user tables (migrations 0001–0003, 0100).
// The SQL in migrations/ is the truth; test/integration/schema-drift.test.ts compares column by column.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  integer,
  interval,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  real,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { ts } from './columns';

export const authSchema = pgSchema('auth');
export const users = authSchema.table('users', {
  id: uuid('id').primaryKey(),
  email: text('email'),
  createdAt: ts('created_at').notNull().defaultNow(),
  lastSeenAt: ts('last_seen_at'),
  rawClaims: jsonb('raw_claims').notNull().default({}),
});

export const featureFlags = pgTable('feature_flags', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  description: text('description'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by'),
});

// Flag sync bookkeeping (migrations/0100_flag_sync.sql): the three-way merge base per key.
export const featureFlagSync = pgTable('feature_flag_sync', {
  key: text('key').primaryKey(),
  value: jsonb('value'),
  rev: bigint('rev', { mode: 'number' }).notNull().default(0),
  source: text('source'),
  syncedAt: ts('synced_at').notNull().defaultNow(),
  lastConflict: jsonb('last_conflict'),
  rejected: jsonb('rejected').notNull().default({}),
});

export const retentionPolicies = pgTable('retention_policies', {
  tableName: text('table_name').primaryKey(),
  retain: interval('retain').notNull(),
  batchSize: integer('batch_size').notNull().default(5000),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const interestCatalog = pgTable('interest_catalog', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  description: text('description'),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const marketplaceCategories = pgTable('marketplace_categories', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  minSupply: integer('min_supply').notNull().default(3),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const marketplaceInterestMap = pgTable(
  'marketplace_interest_map',
  {
    interestId: uuid('interest_id').notNull(),
    categoryId: uuid('category_id').notNull(),
    weight: real('weight').notNull().default(1),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.interestId, t.categoryId] })],
);

export const marketplaceCandidates = pgTable('marketplace_candidates', {
  id: uuid('id').primaryKey().defaultRandom(),
  categoryId: uuid('category_id').notNull(),
  title: text('title').notNull(),
  url: text('url'),
  score: doublePrecision('score').notNull().default(0.5),
  active: boolean('active').notNull().default(true),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const userInterests = pgTable(
  'user_interests',
  {
    userId: uuid('user_id').notNull(),
    interestId: uuid('interest_id').notNull(),
    affinity: real('affinity').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.interestId] })],
);

export const intentSignals = pgTable('intent_signals', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  userId: uuid('user_id').notNull(),
  interestId: uuid('interest_id'),
  kind: text('kind').notNull(),
  strength: real('strength').notNull().default(1),
  context: jsonb('context').notNull().default({}),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const marketplaceGaps = pgTable('marketplace_gaps', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  interestId: uuid('interest_id').notNull(),
  categoryId: uuid('category_id').notNull(),
  candidateCount: integer('candidate_count').notNull(),
  requiredCount: integer('required_count').notNull(),
  gap: integer('gap').generatedAlwaysAs(sql`greatest(required_count - candidate_count, 0)`),
  detectedAt: ts('detected_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
