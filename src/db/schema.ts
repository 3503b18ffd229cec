// drizzle schema of the tables the code queries. The SQL in migrations/ is the source of truth
// (it also holds functions, views, RLS); test/integration/schema-drift.test.ts fails when the two
// disagree on a column's name, type or nullability.
import {
  bigint, boolean, doublePrecision, integer, jsonb, pgSchema, pgTable, primaryKey, real, text,
  timestamp, uuid, interval,
} from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

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

const queueColumns = {
  status: text('status', { enum: ['queued', 'processing', 'done', 'error'] }).notNull().default('queued'),
  attempts: integer('attempts').notNull().default(0),
  lastError: text('last_error'),
  leaseToken: uuid('lease_token'),
  leaseExpiresAt: ts('lease_expires_at'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  relayedAt: ts('relayed_at'),
  processedAt: ts('processed_at'),
  deadAt: ts('dead_at'),
};

export const marketplaceDiscoveryQueue = pgTable('marketplace_discovery_queue', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id'),
  interestId: uuid('interest_id').notNull(),
  topic: text('topic').notNull().default('discovery.user-signup'),
  ...queueColumns,
});

export const eventsQueue = pgTable('events_queue', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  topic: text('topic').notNull(),
  payload: jsonb('payload').notNull().default({}),
  ...queueColumns,
});

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
});

export const rateLimits = pgTable('rate_limits', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  routeClass: text('route_class').notNull(),
  userId: uuid('user_id'),
  maxRequests: integer('max_requests').notNull(),
  windowSeconds: integer('window_seconds').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
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

export const aiActionLedger = pgTable('ai_action_ledger', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  timestamp: ts('timestamp').notNull().defaultNow(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  target: text('target'),
  oldValue: jsonb('old_value'),
  newValue: jsonb('new_value'),
  reason: text('reason'),
  requestId: text('request_id'),
  metadata: jsonb('metadata').notNull().default({}),
});

export const sloTargets = pgTable('slo_targets', {
  operation: text('operation').primaryKey(),
  latencyP95Ms: doublePrecision('latency_p95_ms').notNull(),
  availabilityTarget: doublePrecision('availability_target').notNull().default(0.999),
  description: text('description'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const requestMetricsMinute = pgTable(
  'request_metrics_minute',
  {
    operation: text('operation').notNull(),
    minute: ts('minute').notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull().default(0),
    errors: bigint('errors', { mode: 'number' }).notNull().default(0),
    latencySumMs: doublePrecision('latency_sum_ms').notNull().default(0),
    buckets: bigint('buckets', { mode: 'number' }).array().notNull().default([]),
  },
  (t) => [primaryKey({ columns: [t.operation, t.minute] })],
);

// ---------------------------------------------------------------- SLOs and alerts (migrations 0500, 0501)
export const metricsIngestLedger = pgTable('metrics_ingest_ledger', {
  messageId: text('message_id').primaryKey(),
  receivedAt: ts('received_at').notNull().defaultNow(),
});

export const gaugeMetricsMinute = pgTable(
  'gauge_metrics_minute',
  {
    metric: text('metric').notNull(),
    subject: text('subject').notNull().default(''),
    minute: ts('minute').notNull(),
    value: doublePrecision('value').notNull(),
    samples: bigint('samples', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.metric, t.subject, t.minute] })],
);

export const alertRules = pgTable('alert_rules', {
  id: text('id').primaryKey(),
  description: text('description').notNull(),
  metric: text('metric').notNull(),
  subject: text('subject'),
  comparator: text('comparator').notNull().default('>'),
  threshold: doublePrecision('threshold').notNull(),
  forSeconds: integer('for_seconds').notNull().default(300),
  minSamples: bigint('min_samples', { mode: 'number' }).notNull().default(0),
  severity: text('severity').notNull().default('ticket'),
  action: text('action').notNull().default('notify'),
  runbook: text('runbook'),
  enabled: boolean('enabled').notNull().default(true),
  silencedUntil: ts('silenced_until'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  updatedBy: text('updated_by'),
});

export const alerts = pgTable('alerts', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  ruleId: text('rule_id').notNull(),
  subject: text('subject').notNull(),
  state: text('state').notNull(),
  severity: text('severity').notNull(),
  threshold: doublePrecision('threshold').notNull(),
  firstValue: doublePrecision('first_value'),
  firedValue: doublePrecision('fired_value'),
  lastValue: doublePrecision('last_value'),
  pendingSince: ts('pending_since').notNull(),
  firedAt: ts('fired_at'),
  resolvedAt: ts('resolved_at'),
  lastEvaluatedAt: ts('last_evaluated_at').notNull(),
  actionResult: text('action_result'),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
