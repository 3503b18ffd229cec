// alert_rules: read them, and change them (threshold, `for`, silence, action…) with a ledger entry.
import { z } from 'zod';
import type { Db } from '../db/client';
import { recordAction } from '../db/ledger';
import { badRequest, notFound } from '../lib/errors';
import { isAlertMetric } from './metrics';
import type { RuleCondition } from './state';

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
}

const SELECT = `SELECT id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity,
                       action, runbook, enabled, silenced_until, updated_at, updated_by
                FROM public.alert_rules`;

type Row = Record<string, any>;

export function toRule(r: Row): AlertRule {
  return {
    id: r.id, description: r.description, metric: r.metric, subject: r.subject, comparator: r.comparator,
    threshold: Number(r.threshold), forSeconds: Number(r.for_seconds), minSamples: Number(r.min_samples),
    severity: r.severity, action: r.action, runbook: r.runbook, enabled: r.enabled,
    silencedUntil: r.silenced_until ? new Date(r.silenced_until) : null,
  };
}

export async function listRules(db: Db): Promise<Row[]> {
  return db.query(`${SELECT} ORDER BY id`);
}

export async function enabledRules(db: Db, ids?: string[]): Promise<AlertRule[]> {
  const rows = ids
    ? await db.query<Row>(`${SELECT} WHERE enabled AND id = ANY($1) ORDER BY id`, [ids])
    : await db.query<Row>(`${SELECT} WHERE enabled ORDER BY id`);
  return rows.map(toRule);
}

export function isSilenced(rule: Pick<AlertRule, 'silencedUntil'>, now: Date): boolean {
  return rule.silencedUntil !== null && rule.silencedUntil.getTime() > now.getTime();
}

export const RulePatchSchema = z
  .object({
    threshold: z.number().finite().optional(),
    comparator: z.enum(['>', '>=', '<', '<=']).optional(),
    for_seconds: z.number().int().min(0).max(86_400).optional(),
    min_samples: z.number().int().min(0).optional(),
    severity: z.enum(['page', 'ticket', 'info']).optional(),
    action: z.enum(['notify', 'safe_mode']).optional(),
    enabled: z.boolean().optional(),
    /** Silence notifications until this time; null lifts a silence. */
    silenced_until: z.iso.datetime({ offset: true }).nullable().optional(),
    /** Convenience: silence for this many minutes from now (0 lifts it). */
    silence_minutes: z.number().int().min(0).max(7 * 24 * 60).optional(),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type RulePatch = z.infer<typeof RulePatchSchema>;

const COLUMNS = ['threshold', 'comparator', 'for_seconds', 'min_samples', 'severity', 'action', 'enabled', 'silenced_until'] as const;

/** Apply a patch to one rule; writes alert_rule.update to the ledger with old and new values. */
export async function updateRule(db: Db, id: string, patch: RulePatch, meta: { actor: string; requestId?: string }): Promise<Row> {
  const changes: Record<string, unknown> = {};
  for (const col of COLUMNS) if (patch[col] !== undefined) changes[col] = patch[col];
  if (patch.silence_minutes !== undefined) {
    changes.silenced_until = patch.silence_minutes === 0 ? null : new Date(Date.now() + patch.silence_minutes * 60_000).toISOString();
  }
  if (Object.keys(changes).length === 0) throw badRequest('nothing to change');
  const [old] = await db.query<Row>(`${SELECT} WHERE id = $1`, [id]);
  if (!old) throw notFound(`no alert rule "${id}"`);
  if (!isAlertMetric(old.metric)) throw badRequest(`rule ${id} has an unknown metric "${old.metric}"`);
  const sets = Object.keys(changes).map((col, i) => `${col} = $${i + 2}`);
  const [row] = await db.query<Row>(
    `UPDATE public.alert_rules SET ${sets.join(', ')}, updated_at = now(), updated_by = $${sets.length + 2}
     WHERE id = $1 RETURNING *`,
    [id, ...Object.values(changes), meta.actor],
  );
  const before = Object.fromEntries(Object.keys(changes).map((k) => [k, old[k]]));
  await recordAction(db, {
    actor: meta.actor, action: 'alert_rule.update', target: id, oldValue: before, newValue: changes,
    reason: patch.reason, requestId: meta.requestId,
  });
  return row!;
}
