// alert_rules: read them, and change them (threshold, `for`, silence, action…) with a ledger entry.
import { z } from 'zod';
import { recordAction } from '../db/ledger';
import type { Db } from '../db/sql';
import { badRequest, notFound } from '../http/errors';
import { isAlertMetric } from './metrics';
import { enabledRuleRows, listRuleRows, type RuleChanges, type RuleRow, ruleRow, updateRuleRow } from './queries';
import type { RuleCondition } from './state';

export type { RuleRow };

export interface AlertRule extends RuleCondition {
  id: string;
  description: string;
  metric: string;
  subject: string | null;
  forSeconds: number;
  severity: 'page' | 'ticket' | 'info';
  action: 'notify' | 'safe_mode';
  runbook: string | null;
  enabled: boolean;
  silencedUntil: Date | null;
  /** A firing alert resolves after its condition has been clear this long. */
  clearForSeconds: number;
  /** No measurement for this long raises metrics_stale (null: not watched). */
  noDataSeconds: number | null;
  /** Subjects the action may act on (null: all). */
  actionSubjects: string[] | null;
  /** After a human turned safe mode off, automatic safe-mode actions wait this long. */
  actionCooldownSeconds: number;
}

// The same closed lists as the CHECK constraints of alert_rules (migrations/0501_alerts.sql).
const Comparator = z.enum(['>', '>=', '<', '<=']);
const Severity = z.enum(['page', 'ticket', 'info']);
const Action = z.enum(['notify', 'safe_mode']);

type RuleFields = Omit<RuleRow, 'updated_at' | 'updated_by'>;

export function toRule(r: RuleFields): AlertRule {
  return {
    id: r.id,
    description: r.description,
    metric: r.metric,
    subject: r.subject,
    comparator: Comparator.parse(r.comparator),
    threshold: r.threshold,
    forSeconds: r.for_seconds,
    minSamples: r.min_samples,
    severity: Severity.parse(r.severity),
    action: Action.parse(r.action),
    runbook: r.runbook,
    enabled: r.enabled,
    silencedUntil: r.silenced_until,
    clearForSeconds: r.clear_for_seconds,
    noDataSeconds: r.no_data_seconds,
    actionSubjects: r.action_subjects,
    actionCooldownSeconds: r.action_cooldown_seconds,
  };
}

export const listRules = (db: Db): Promise<RuleRow[]> => listRuleRows(db);

export async function enabledRules(db: Db, ids?: string[]): Promise<AlertRule[]> {
  return (await enabledRuleRows(db, ids)).map(toRule);
}

export function isSilenced(rule: Pick<AlertRule, 'silencedUntil'>, now: Date): boolean {
  return rule.silencedUntil !== null && rule.silencedUntil.getTime() > now.getTime();
}

export const RulePatchSchema = z
  .object({
    threshold: z.number().finite().optional(),
    comparator: Comparator.optional(),
    for_seconds: z.number().int().min(0).max(86_400).optional(),
    min_samples: z.number().int().min(0).optional(),
    severity: Severity.optional(),
    action: Action.optional(),
    enabled: z.boolean().optional(),
    /** Silence notifications until this time; null lifts a silence. */
    silenced_until: z.iso.datetime({ offset: true }).nullable().optional(),
    /** Convenience: silence for this many minutes from now (0 lifts it). */
    silence_minutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .optional(),
    clear_for_seconds: z.number().int().min(0).max(86_400).optional(),
    /** null: the rule is not watched for missing data. */
    no_data_seconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .nullable()
      .optional(),
    /** null: the action applies to every subject. */
    action_subjects: z.array(z.string().min(1).max(200)).max(100).nullable().optional(),
    action_cooldown_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type RulePatch = z.infer<typeof RulePatchSchema>;

const COLUMNS = [
  'threshold',
  'comparator',
  'for_seconds',
  'min_samples',
  'severity',
  'action',
  'enabled',
  'silenced_until',
  'clear_for_seconds',
  'no_data_seconds',
  'action_subjects',
  'action_cooldown_seconds',
] as const;

/** Apply a patch to one rule; writes alert_rule.update to the ledger with old and new values. */
export async function updateRule(db: Db, id: string, patch: RulePatch, meta: { actor: string; requestId?: string }): Promise<RuleRow> {
  const changes: RuleChanges = {};
  for (const key of COLUMNS) if (patch[key] !== undefined) Object.assign(changes, { [key]: patch[key] });
  if (patch.silence_minutes !== undefined) {
    changes.silenced_until = patch.silence_minutes === 0 ? null : new Date(Date.now() + patch.silence_minutes * 60_000).toISOString();
  }
  if (Object.keys(changes).length === 0) throw badRequest('nothing to change');
  const old = await ruleRow(db, id);
  if (!old) throw notFound(`no alert rule "${id}"`);
  if (!isAlertMetric(old.metric)) throw badRequest(`rule ${id} has an unknown metric "${old.metric}"`);
  const row = await updateRuleRow(db, id, changes, meta.actor);
  if (!row) throw notFound(`no alert rule "${id}"`); // deleted in between
  const before = Object.fromEntries(Object.keys(changes).map((k) => [k, old[k as keyof RuleChanges]]));
  await recordAction(db, {
    actor: meta.actor,
    action: 'alert_rule.update',
    target: id,
    oldValue: before,
    newValue: changes,
    reason: patch.reason,
    requestId: meta.requestId,
  });
  return row;
}
