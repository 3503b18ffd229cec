// Rule actions. 'safe_mode': when an alert of such a rule fires, turn global.safe_mode on through
// setFlag (Postgres + KV + a ledger row whose actor is alert:<rule> and whose reason says why).
// Once per episode: the outcome is stored on the alert, so if a human turns safe mode off while
// the alert still fires, it stays off — turning it off is a human decision. A failed attempt is
// retried by the next evaluation.
import type { Db } from '../db/sql';
import { evaluateFlags } from '../flags';
import { setFlag } from '../flags/write';
import { errorFields } from '../observability/logger';
import type { Unit } from '../platform/unit';
import { dueSafeModeRows, setActionResult } from './queries';

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
export function dueSafeModeActions(db: Db, ruleIds: string[]): Promise<DueAction[]> {
  return dueSafeModeRows(db, ruleIds);
}

/** Turn safe mode on for one firing alert (unless it already is); records the outcome on the alert. */
export async function applySafeMode(unit: Pick<Unit, 'env' | 'db' | 'log'>, alert: DueAction, requestId?: string): Promise<string> {
  let result: string;
  try {
    const flags = await evaluateFlags(unit);
    // On for everyone already? A canary rollout ("on, except off for 5 %") is not: the action
    // replaces it with plain {"enabled": true}.
    if (flags.safeMode && !flags.rollouts['global.safe_mode']) {
      result = 'already_on';
    } else {
      await setFlag(
        unit,
        'global.safe_mode',
        { enabled: true },
        { actor: `alert:${alert.rule_id}`, reason: safeModeReason(alert), requestId },
      );
      result = 'safe_mode_on';
    }
  } catch (err) {
    result = `failed: ${String(errorFields(err).error)}`.slice(0, 300);
  }
  await setActionResult(unit.db(), alert.id, result);
  const fields = { alert_id: alert.id, rule: alert.rule_id, subject: alert.subject, result };
  if (result.startsWith('failed')) unit.log.error('alert.action_failed', fields);
  else unit.log.warn('alert.action', { ...fields, action: 'safe_mode' });
  return result;
}
