// Every statement of the alerting feature except the metric queries (queries-metrics.ts) and the
// actions' (queries-actions.ts): the rules (drizzle CRUD), the episodes the evaluator reads and
// writes inside its transaction, and the admin listing. The one statement that is SQL on purpose — closing the episodes of
// disabled rules, an UPDATE … FROM … RETURNING — is a checked `sql` template.
import { and, asc, desc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { alertRules, alerts } from '../db/schema';
import type { Db } from '../db/sql';
import { col, execute, nullable, queryRows } from '../db/sql';
import { rootCause } from '../observability/logger';
import type { AlertState, OpenState } from './state';

// ------------------------------------------------------------------------------------ rules

/** alert_rules as the admin API shows them: snake_case, in table order. */
const RULE_COLUMNS = {
  id: alertRules.id,
  description: alertRules.description,
  metric: alertRules.metric,
  subject: alertRules.subject,
  comparator: alertRules.comparator,
  threshold: alertRules.threshold,
  for_seconds: alertRules.forSeconds,
  min_samples: alertRules.minSamples,
  severity: alertRules.severity,
  action: alertRules.action,
  runbook: alertRules.runbook,
  enabled: alertRules.enabled,
  silenced_until: alertRules.silencedUntil,
  updated_at: alertRules.updatedAt,
  updated_by: alertRules.updatedBy,
  clear_for_seconds: alertRules.clearForSeconds,
  no_data_seconds: alertRules.noDataSeconds,
  action_subjects: alertRules.actionSubjects,
  action_cooldown_seconds: alertRules.actionCooldownSeconds,
};

function selectRules(db: Db, where?: SQL) {
  return db.select(RULE_COLUMNS).from(alertRules).where(where).orderBy(asc(alertRules.id));
}

export type RuleRow = Awaited<ReturnType<typeof selectRules>>[number];

export const listRuleRows = (db: Db): Promise<RuleRow[]> => selectRules(db);

/** Enabled rules, all of them or those of `ids`. */
export function enabledRuleRows(db: Db, ids?: readonly string[]): Promise<RuleRow[]> {
  const enabled = eq(alertRules.enabled, true);
  return selectRules(db, ids ? and(enabled, inArray(alertRules.id, [...ids])) : enabled);
}

export async function ruleRow(db: Db, id: string): Promise<RuleRow | undefined> {
  const [row] = await selectRules(db, eq(alertRules.id, id));
  return row;
}

/** The columns a rule patch may change, by their API (snake_case) names. */
export interface RuleChanges {
  threshold?: number;
  comparator?: string;
  for_seconds?: number;
  min_samples?: number;
  severity?: string;
  action?: string;
  enabled?: boolean;
  /** ISO time, or null to lift a silence. */
  silenced_until?: string | null;
  clear_for_seconds?: number;
  no_data_seconds?: number | null;
  action_subjects?: string[] | null;
  action_cooldown_seconds?: number;
}

export async function updateRuleRow(db: Db, id: string, changes: RuleChanges, actor: string): Promise<RuleRow | undefined> {
  const {
    silenced_until,
    for_seconds,
    min_samples,
    clear_for_seconds,
    no_data_seconds,
    action_subjects,
    action_cooldown_seconds,
    ...same
  } = changes;
  const [row] = await db
    .update(alertRules)
    .set({
      ...same,
      forSeconds: for_seconds,
      minSamples: min_samples,
      clearForSeconds: clear_for_seconds,
      noDataSeconds: no_data_seconds,
      actionSubjects: action_subjects,
      actionCooldownSeconds: action_cooldown_seconds,
      silencedUntil: silenced_until === undefined ? undefined : silenced_until === null ? null : new Date(silenced_until),
      updatedAt: sql`now()`,
      updatedBy: actor,
    })
    .where(eq(alertRules.id, id))
    .returning(RULE_COLUMNS);
  return row;
}

// ------------------------------------------------------------------- episodes (evaluator)

const LOCK_KEY = 7_245_119_500;

/** The Postgres error code of a failed statement (drizzle wraps the driver's error as `cause`). */
function pgCode(err: unknown): string | undefined {
  const code = (rootCause(err) as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Take the evaluation lock for the rest of the transaction, waiting at most 10 s. False when
 * another evaluation held it that long (the transaction is then aborted: roll it back).
 */
export async function lockEvaluation(tx: Db): Promise<boolean> {
  await execute(tx, sql`SET LOCAL lock_timeout = '10s'`);
  try {
    await execute(tx, sql`SELECT pg_advisory_xact_lock(${LOCK_KEY}::bigint)`);
    return true;
  } catch (err) {
    if (pgCode(err) === '55P03') return false; // lock_not_available
    throw err;
  }
}

const OpenStateSchema = z.enum(['pending', 'firing']);

export interface OpenEpisode {
  id: number;
  ruleId: string;
  subject: string;
  state: OpenState;
  pendingSince: Date;
  clearSince: Date | null;
}

/** Open episodes of these rules, locked until the transaction ends. */
export async function lockOpenEpisodes(tx: Db, ruleIds: readonly string[]): Promise<OpenEpisode[]> {
  const rows = await tx
    .select({
      id: alerts.id,
      ruleId: alerts.ruleId,
      subject: alerts.subject,
      state: alerts.state,
      pendingSince: alerts.pendingSince,
      clearSince: alerts.clearSince,
    })
    .from(alerts)
    .where(and(inArray(alerts.state, ['pending', 'firing']), inArray(alerts.ruleId, [...ruleIds])))
    .for('update');
  return rows.map((r) => ({ ...r, state: OpenStateSchema.parse(r.state) }));
}

/** Still pending / still firing: the latest value and the clear timer (null: not running) move. */
export async function holdEpisode(tx: Db, id: number, value: number | null, now: Date, clearSince: Date | null): Promise<void> {
  await tx.update(alerts).set({ lastValue: value, lastEvaluatedAt: now, clearSince, updatedAt: sql`now()` }).where(eq(alerts.id, id));
}

/** A new episode (pending, or firing at once when the rule's `for` is 0); returns its id. */
export async function openEpisode(
  tx: Db,
  e: { ruleId: string; subject: string; state: OpenState; severity: string; threshold: number; value: number | null; now: Date },
): Promise<number> {
  const firing = e.state === 'firing';
  const [row] = await tx
    .insert(alerts)
    .values({
      ruleId: e.ruleId,
      subject: e.subject,
      state: e.state,
      severity: e.severity,
      threshold: e.threshold,
      firstValue: e.value,
      firedValue: firing ? e.value : null,
      lastValue: e.value,
      pendingSince: e.now,
      firedAt: firing ? e.now : null,
      lastEvaluatedAt: e.now,
    })
    .returning({ id: alerts.id });
  return row!.id;
}

/** pending → firing, or the episode ends (resolved / cancelled). */
export async function moveEpisode(tx: Db, id: number, to: AlertState, value: number | null, now: Date): Promise<void> {
  await tx
    .update(alerts)
    .set({
      state: to,
      lastValue: value,
      lastEvaluatedAt: now,
      updatedAt: sql`now()`,
      ...(to === 'firing' ? { firedAt: now, firedValue: value } : {}),
      ...(to === 'resolved' || to === 'cancelled' ? { resolvedAt: now } : {}),
    })
    .where(eq(alerts.id, id));
}

/** A closed episode of a disabled rule, with that rule (its columns named as in RuleRow). */
const ClosedOrphan = z.object({
  alert_id: col.number,
  alert_subject: col.text,
  alert_state: z.enum(['resolved', 'cancelled']),
  last_value: nullable.number,
  id: col.text,
  description: col.text,
  metric: col.text,
  subject: nullable.text,
  comparator: col.text,
  threshold: col.number,
  for_seconds: col.number,
  min_samples: col.number,
  severity: col.text,
  action: col.text,
  runbook: nullable.text,
  enabled: col.bool,
  silenced_until: nullable.date,
  clear_for_seconds: col.number,
  no_data_seconds: nullable.number,
  action_subjects: z.array(z.string()).nullable(),
  action_cooldown_seconds: col.number,
});
export type ClosedOrphan = z.output<typeof ClosedOrphan>;

/** Close the open episodes of disabled rules (of ruleIds, when given). */
export function closeOrphanEpisodes(tx: Db, now: Date, ruleIds: readonly string[] | undefined): Promise<ClosedOrphan[]> {
  const at = now.toISOString();
  return queryRows(
    tx,
    'alerts.close_orphans',
    ClosedOrphan,
    sql`
    UPDATE public.alerts a SET state = CASE a.state WHEN 'firing' THEN 'resolved' ELSE 'cancelled' END,
           resolved_at = ${at}::timestamptz, last_evaluated_at = ${at}::timestamptz, updated_at = now()
    FROM public.alert_rules r
    WHERE r.id = a.rule_id AND NOT r.enabled AND a.state IN ('pending', 'firing')
      ${ruleIds ? sql`AND r.id = ANY(${sql.param([...ruleIds])}::text[])` : sql``}
    RETURNING a.id AS alert_id, a.subject AS alert_subject, a.state AS alert_state, a.last_value,
              r.id, r.description, r.metric, r.subject, r.comparator, r.threshold, r.for_seconds, r.min_samples,
              r.severity, r.action, r.runbook, r.enabled, r.silenced_until, r.clear_for_seconds,
              r.no_data_seconds, r.action_subjects, r.action_cooldown_seconds`,
  );
}

// ---------------------------------------------------------------------------- history

/** Episodes in these states, newest first, with their rule's description (GET /admin/alerts). */
export async function listAlertRows(db: Db, states: readonly string[], limit: number) {
  const rows = await db
    .select({
      id: alerts.id,
      rule_id: alerts.ruleId,
      subject: alerts.subject,
      state: alerts.state,
      severity: alerts.severity,
      threshold: alerts.threshold,
      first_value: alerts.firstValue,
      fired_value: alerts.firedValue,
      last_value: alerts.lastValue,
      pending_since: alerts.pendingSince,
      fired_at: alerts.firedAt,
      resolved_at: alerts.resolvedAt,
      last_evaluated_at: alerts.lastEvaluatedAt,
      action_result: alerts.actionResult,
      created_at: alerts.createdAt,
      updated_at: alerts.updatedAt,
      description: alertRules.description,
      metric: alertRules.metric,
      comparator: alertRules.comparator,
      action: alertRules.action,
      runbook: alertRules.runbook,
    })
    .from(alerts)
    .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
    .where(inArray(alerts.state, [...states]))
    .orderBy(desc(alerts.id))
    .limit(limit);
  // The API has always sent the bigint id as a string.
  return rows.map(({ id, ...rest }) => ({ id: String(id), ...rest }));
}
