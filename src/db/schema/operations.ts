// Operations: rate limits, the action ledger, job runs, SLOs, metric rollups and alerts (0005, 0500, 0501, 0730, 0750).
// The SQL in migrations/ is the truth; test/integration/schema-drift.test.ts compares column by column.
import { bigint, boolean, doublePrecision, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { ts } from './columns';

export const rateLimits = pgTable('rate_limits', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  routeClass: text('route_class').notNull(),
  userId: uuid('user_id'),
  maxRequests: integer('max_requests').notNull(),
  windowSeconds: integer('window_seconds').notNull(),
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

/** One row per cron job run or on-demand run (0730): routine outcomes, kept out of the ledger. */
export const jobRuns = pgTable('job_runs', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  job: text('job').notNull(),
  trigger: text('trigger').$type<'cron' | 'api'>().notNull(),
  source: text('source').notNull(),
  actor: text('actor').notNull(),
  status: text('status').$type<'ok' | 'failed' | 'paused'>().notNull(),
  scheduledAt: ts('scheduled_at'),
  startedAt: ts('started_at').notNull(),
  durationMs: integer('duration_ms').notNull(),
  result: jsonb('result').notNull().default({}),
  error: text('error'),
  requestId: text('request_id').notNull(),
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
  clearForSeconds: integer('clear_for_seconds').notNull().default(300),
  noDataSeconds: integer('no_data_seconds'),
  actionSubjects: text('action_subjects').array(),
  actionCooldownSeconds: integer('action_cooldown_seconds').notNull().default(1800),
});

export const alertRuleData = pgTable('alert_rule_data', {
  ruleId: text('rule_id').primaryKey(),
  watchedSince: ts('watched_since').notNull(),
  lastDataAt: ts('last_data_at'),
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
  clearSince: ts('clear_since'),
});
