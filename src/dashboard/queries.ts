// What the dashboard reads, panel by panel: the guide's views and rollup functions (checked SQL) and
// bounded slices of small tables (drizzle). Every query reads a vw_* view, a rollup function, or a
// LIMITed slice. The SLO views come from src/observability/queries.ts (the admin API reads them too).
//
// Values stay as the page prints them: timestamps as ISO strings (or Dates), counts as numbers, and
// the queue views' ages as the numeric text Postgres formats ('12.0': the page shows "12.0 s").
import { desc, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { aiActionLedger, alerts, featureFlags } from '../db/schema';
import type { Db } from '../db/sql';
import { col, nullable, queryRows } from '../db/sql';

/** numeric(…, 1) as Postgres prints it: the page shows it verbatim. */
const numericText = z.string().nullable();

// ------------------------------------------------------------------------------- flags

export const flagMeta = (db: Db) =>
  db.select({ key: featureFlags.key, updatedAt: featureFlags.updatedAt, updatedBy: featureFlags.updatedBy }).from(featureFlags);

// ------------------------------------------------------------------------------ queues

const DiscoveryHealth = z.object({ status: col.text, count: col.number, p95_age_sec: numericText, oldest_age_sec: numericText });
const EventsHealth = z.object({ topic: col.text, status: col.text, count: col.number, p95_age_sec: numericText });
const Gauge = z.object({ metric: col.text, subject: col.text, value: col.number, samples: col.number, minute: col.isoTime });
export type DiscoveryHealth = z.output<typeof DiscoveryHealth>;
export type EventsHealth = z.output<typeof EventsHealth>;
export type Gauge = z.output<typeof Gauge>;

export const discoveryHealth = (db: Db) =>
  queryRows(
    db,
    'vw_discovery_queue_health',
    DiscoveryHealth,
    sql`
    SELECT status, count, p95_age_sec, oldest_age_sec FROM public.vw_discovery_queue_health ORDER BY status`,
  );

export const eventsHealth = (db: Db) =>
  queryRows(
    db,
    'vw_events_queue_health',
    EventsHealth,
    sql`
    SELECT topic, status, count, p95_age_sec FROM public.vw_events_queue_health ORDER BY topic, status`,
  );

export const queueGauges = (db: Db) =>
  queryRows(
    db,
    'vw_metric_gauges',
    Gauge,
    sql`
    SELECT metric, subject, value, samples, minute FROM public.vw_metric_gauges
    WHERE metric LIKE 'queue.%' OR metric = 'learning.impressions_dropped' ORDER BY metric, subject`,
  );

// --------------------------------------------------------------------------------- dlq

const DeadBySource = z.object({ source: col.text, count: col.number, newest: nullable.isoTime });
const DeadLetterRow = z.object({
  source: col.text,
  id: col.text,
  topic: nullable.text,
  attempts: nullable.number,
  last_error: nullable.text,
  dead_since: nullable.isoTime,
});
export type DeadBySource = z.output<typeof DeadBySource>;
export type DeadLetterRow = z.output<typeof DeadLetterRow>;

export const deadBySource = (db: Db) =>
  queryRows(
    db,
    'dlq.by_source',
    DeadBySource,
    sql`
    SELECT source, count(*)::int AS count, max(dead_since) AS newest FROM public.vw_dead_letter_queue GROUP BY source ORDER BY source`,
  );

export const latestDeadLetters = (db: Db) =>
  queryRows(
    db,
    'dlq.latest',
    DeadLetterRow,
    sql`
    SELECT source, id, topic, attempts, last_error, dead_since FROM public.vw_dead_letter_queue LIMIT 10`,
  );

// ---------------------------------------------------------------------------- policies

const PolicyHealth = z.object({
  policy: col.text,
  decisions: nullable.number,
  exploration_rate: nullable.number,
  epsilon: nullable.number,
  mean_reward: nullable.number,
  last_event_at: nullable.isoTime,
});
const RecentExploration = z.object({ policy: col.text, exploration_rate: col.number, samples: col.number, epsilon: nullable.number });
export type PolicyHealth = z.output<typeof PolicyHealth>;
export type RecentExploration = z.output<typeof RecentExploration>;

export const policyHealth = (db: Db) =>
  queryRows(
    db,
    'vw_policy_health',
    PolicyHealth,
    sql`
    SELECT policy, decisions, exploration_rate, epsilon, mean_reward, last_event_at FROM public.vw_policy_health ORDER BY policy`,
  );

/** The sampler's latest exploration rate per policy, with the effective epsilon of that minute. */
export const recentExploration = (db: Db) =>
  queryRows(
    db,
    'policy.recent_exploration',
    RecentExploration,
    sql`
    SELECT r.subject AS policy, r.value AS exploration_rate, r.samples, e.value AS epsilon
    FROM public.vw_metric_gauges r
    LEFT JOIN public.vw_metric_gauges e ON e.metric = 'policy.epsilon' AND e.subject = r.subject
    WHERE r.metric = 'policy.exploration_rate' ORDER BY r.subject`,
  );

// -------------------------------------------------------------------------------- slos

const BurnPoint = z.object({ operation: col.text, step: col.number, burn_rate: nullable.number });
export type BurnPoint = z.output<typeof BurnPoint>;

/** The sparklines: 36 ten-minute steps of burn rate per SLO (the last 6 hours). */
export const burnRateSeries = (db: Db) =>
  queryRows(db, 'slo_burnrate_series', BurnPoint, sql`SELECT operation, step, burn_rate FROM public.slo_burnrate_series(now(), 10, 36)`);

// ------------------------------------------------------------------------------ alerts

const ActiveAlert = z.object({
  id: col.number,
  rule_id: col.text,
  description: col.text,
  subject: col.text,
  state: col.text,
  comparator: col.text,
  threshold: col.number,
  last_value: nullable.number,
  pending_since: col.isoTime,
  fired_at: nullable.isoTime,
  action: col.text,
  action_result: nullable.text,
  /** The rule's hint: where to look (a section of docs/ONCALL.md). */
  runbook: nullable.text,
  silenced: col.bool,
});
export type ActiveAlert = z.output<typeof ActiveAlert>;

export const activeAlerts = (db: Db) =>
  queryRows(
    db,
    'vw_alerts_active',
    ActiveAlert,
    sql`
    SELECT id, rule_id, description, subject, state, comparator, threshold, last_value, pending_since, fired_at,
           action, action_result, runbook, silenced
    FROM public.vw_alerts_active`,
  );

export const recentlyClosedAlerts = (db: Db) =>
  db
    .select({
      id: alerts.id,
      rule_id: alerts.ruleId,
      subject: alerts.subject,
      state: alerts.state,
      fired_at: alerts.firedAt,
      resolved_at: alerts.resolvedAt,
      pending_since: alerts.pendingSince,
    })
    .from(alerts)
    .where(inArray(alerts.state, ['resolved', 'cancelled']))
    .orderBy(desc(alerts.id))
    .limit(5);

// ------------------------------------------------------------------------------ ledger

export const latestActions = (db: Db) =>
  db
    .select({
      id: aiActionLedger.id,
      timestamp: aiActionLedger.timestamp,
      actor: aiActionLedger.actor,
      action: aiActionLedger.action,
      target: aiActionLedger.target,
      new_value: aiActionLedger.newValue,
      reason: aiActionLedger.reason,
    })
    .from(aiActionLedger)
    .orderBy(desc(aiActionLedger.timestamp), desc(aiActionLedger.id))
    .limit(12);
