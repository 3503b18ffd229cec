// Rule actions. 'safe_mode': when an alert of such a rule fires, turn global.safe_mode on through
// setFlag (Postgres + KV + a ledger row whose actor is alert:<rule> and whose reason says why).
// Once per episode: the outcome is stored on the alert, so if a human turns safe mode off while
// the alert still fires, it stays off — turning it off is a human decision. A failed attempt is
// retried by the next evaluation.
import type { Db } from '../db/client';
import { evaluateFlags } from '../flags';
import { setFlag } from '../flags/write';
import type { Logger } from '../observability/logger';
import { errorFields } from '../observability/logger';

export interface ActionContext {
  env: Env;
  db: () => Db;
  log: Logger;
  requestId?: string;
}

export interface DueAction {
  id: number;
  rule_id: string;
  description: string;
  subject: string;
  last_value: number | null;
  comparator: string;
  threshold: number;
}

export function safeModeReason(a: DueAction): string {
  const value = a.last_value === null ? 'n/a' : Number(a.last_value.toFixed(3));
  return `alert #${a.id} ${a.rule_id} fired on ${a.subject}: ${value} ${a.comparator} ${a.threshold} (${a.description})`;
}

/** Firing alerts of safe_mode rules whose action has not succeeded yet. */
export async function dueSafeModeActions(db: Db, ruleIds: string[]): Promise<DueAction[]> {
  const rows = await db.query<DueAction>(
    `SELECT a.id::int AS id, a.rule_id, r.description, a.subject, a.last_value, r.comparator, a.threshold
     FROM public.alerts a JOIN public.alert_rules r ON r.id = a.rule_id
     WHERE a.state = 'firing' AND r.action = 'safe_mode' AND r.enabled AND a.rule_id = ANY($1)
       AND (a.action_result IS NULL OR a.action_result LIKE 'failed%')
     ORDER BY a.id`,
    [ruleIds],
  );
  return rows.map((r) => ({ ...r, last_value: r.last_value === null ? null : Number(r.last_value), threshold: Number(r.threshold) }));
}

/** Turn safe mode on for one firing alert (unless it already is); records the outcome on the alert. */
export async function applySafeMode(c: ActionContext, alert: DueAction): Promise<string> {
  const db = c.db();
  let result: string;
  try {
    const flags = await evaluateFlags({ env: c.env, db: c.db, log: c.log });
    // On for everyone already? A canary rollout ("on, except off for 5 %") is not: the action
    // replaces it with plain {"enabled": true}.
    if (flags.safeMode && !flags.rollouts['global.safe_mode']) {
      result = 'already_on';
    } else {
      await setFlag({ env: c.env, db: c.db, log: c.log }, 'global.safe_mode', { enabled: true }, {
        actor: `alert:${alert.rule_id}`, reason: safeModeReason(alert), requestId: c.requestId,
      });
      result = 'safe_mode_on';
    }
  } catch (err) {
    result = `failed: ${String(errorFields(err).error)}`.slice(0, 300);
  }
  await db.query('UPDATE public.alerts SET action_result = $2, updated_at = now() WHERE id = $1', [alert.id, result]);
  const fields = { alert_id: alert.id, rule: alert.rule_id, subject: alert.subject, result };
  if (result.startsWith('failed')) c.log.error('alert.action_failed', fields);
  else c.log.warn('alert.action', { ...fields, action: 'safe_mode' });
  return result;
}
