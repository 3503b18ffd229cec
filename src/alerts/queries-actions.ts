// The statements of the alert actions: which firing alerts have an action due, recording its
// outcome, and the two facts a safe-mode action decides on — read from Postgres (the truth), never
// from the isolate's or KV's flag caches, which may lag a human's change by seconds to a minute.
import { and, asc, desc, eq, inArray, isNull, like, lte, not, or, sql } from 'drizzle-orm';
import { aiActionLedger, alertRules, alerts, featureFlags } from '../db/schema';
import type { Db } from '../db/sql';

/** Firing alerts of safe_mode rules whose action has not succeeded yet (none, failed or deferred). */
export function dueSafeModeRows(db: Db, ruleIds: readonly string[]) {
  return db
    .select({
      id: alerts.id,
      rule_id: alerts.ruleId,
      description: alertRules.description,
      subject: alerts.subject,
      last_value: alerts.lastValue,
      comparator: alertRules.comparator,
      threshold: alerts.threshold,
      action_result: alerts.actionResult,
      action_subjects: alertRules.actionSubjects,
      action_cooldown_seconds: alertRules.actionCooldownSeconds,
    })
    .from(alerts)
    .innerJoin(alertRules, eq(alertRules.id, alerts.ruleId))
    .where(
      and(
        eq(alerts.state, 'firing'),
        eq(alertRules.action, 'safe_mode'),
        eq(alertRules.enabled, true),
        inArray(alerts.ruleId, [...ruleIds]),
        or(isNull(alerts.actionResult), like(alerts.actionResult, 'failed%'), like(alerts.actionResult, 'deferred%')),
      ),
    )
    .orderBy(asc(alerts.id));
}

export async function setActionResult(db: Db, id: number, result: string): Promise<void> {
  await db.update(alerts).set({ actionResult: result, updatedAt: sql`now()` }).where(eq(alerts.id, id));
}

/** The stored value of global.safe_mode (undefined: no row, i.e. the default, off). */
export async function safeModeStored(db: Db): Promise<unknown> {
  const [row] = await db.select({ value: featureFlags.value }).from(featureFlags).where(eq(featureFlags.key, 'global.safe_mode'));
  return row?.value;
}

/**
 * The last time someone other than an alert action turned global.safe_mode from on to anything but
 * plain on (a human's "off", by API, CLI, dashboard or SQL — every path writes a flag.set ledger
 * row with old and new value), as of `at`; undefined if never.
 */
export async function lastHumanSafeModeOff(db: Db, at: Date): Promise<{ at: Date; actor: string } | undefined> {
  const [row] = await db
    .select({ at: aiActionLedger.timestamp, actor: aiActionLedger.actor })
    .from(aiActionLedger)
    .where(
      and(
        eq(aiActionLedger.target, 'global.safe_mode'),
        eq(aiActionLedger.action, 'flag.set'),
        not(like(aiActionLedger.actor, 'alert:%')),
        // A change from on to anything else: seeding the default or re-saving "off" is no decision.
        sql`coalesce(${aiActionLedger.oldValue} @> '{"enabled": true}'::jsonb, false)`,
        sql`NOT coalesce(${aiActionLedger.newValue} @> '{"enabled": true}'::jsonb AND NOT ${aiActionLedger.newValue} ? 'rollout', false)`,
        lte(aiActionLedger.timestamp, at),
      ),
    )
    .orderBy(desc(aiActionLedger.id))
    .limit(1);
  return row && { at: row.at, actor: row.actor };
}
