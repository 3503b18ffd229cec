// Rule actions. 'safe_mode': when an alert of such a rule fires, turn global.safe_mode on through
// setFlag (Postgres + KV + a ledger row whose actor is alert:<rule> and whose reason says why).
// Once per episode: the outcome is stored on the alert, so if a human turns safe mode off while
// the alert still fires, it stays off — turning it off is a human decision. Guards (issue 20):
//   - scope: only subjects in the rule's action_subjects (the seeded slo_burn_rate rule: the
//     ranking path, where safe mode actually changes what users get); others are recorded
//     'not_applicable' with a ledger row saying why;
//   - the flag is read from Postgres, not the isolate/KV caches (a stale "on" must not record
//     already_on while a human has just turned it off, nor a stale "off" overwrite a rollout);
//   - cooldown: within action_cooldown_seconds of a human turning safe mode off, the action is
//     deferred (ledger row once per episode, with until when) and retried by later evaluations.
// A failed attempt is retried by the next evaluation.
import { recordAction } from '../db/ledger';
import { setFlag } from '../flags/write';
import { errorFields } from '../observability/logger';
import type { Unit } from '../platform/unit';
import { dueSafeModeRows, lastHumanSafeModeOff, safeModeStored, setActionResult } from './queries-actions';

export interface DueAction {
  id: number;
  rule_id: string;
  description: string;
  subject: string;
  last_value: number | null;
  comparator: string;
  threshold: number;
  action_result: string | null;
  action_subjects: string[] | null;
  action_cooldown_seconds: number;
}

export function safeModeReason(a: DueAction): string {
  const value = a.last_value === null ? 'n/a' : Number(a.last_value.toFixed(3));
  return `alert #${a.id} ${a.rule_id} fired on ${a.subject}: ${value} ${a.comparator} ${a.threshold} (${a.description})`;
}

/** Firing alerts of safe_mode rules whose action has not succeeded yet. */
export function dueSafeModeActions(db: ReturnType<Unit['db']>, ruleIds: string[]): Promise<DueAction[]> {
  return dueSafeModeRows(db, ruleIds);
}

/** On for everyone: plain {"enabled": true}. A canary rollout ("on, except off for 5 %") is not. */
function plainlyOn(stored: unknown): boolean {
  const v = stored as { enabled?: unknown; rollout?: unknown } | null | undefined;
  return typeof v === 'object' && v !== null && v.enabled === true && v.rollout === undefined;
}

type Skip = { result: string; reason: string; metadata: Record<string, unknown> };

/** Why the action must not run now (recorded, not acted on), or undefined to act. */
async function skipReason(unit: Pick<Unit, 'db'>, alert: DueAction, now: Date): Promise<Skip | undefined> {
  if (alert.action_subjects !== null && !alert.action_subjects.includes(alert.subject)) {
    return {
      result: 'not_applicable',
      reason: `${alert.subject} is not among the rule's action_subjects (${alert.action_subjects.join(', ')}): safe mode cannot help it`,
      metadata: { action_subjects: alert.action_subjects },
    };
  }
  const off = await lastHumanSafeModeOff(unit.db(), now);
  const until = off && new Date(off.at.getTime() + alert.action_cooldown_seconds * 1000);
  if (off && until && until.getTime() > now.getTime()) {
    return {
      result: `deferred: cooldown until ${until.toISOString()}`,
      reason: `${off.actor} turned safe mode off at ${off.at.toISOString()}; automatic actions wait ${alert.action_cooldown_seconds} s (until ${until.toISOString()})`,
      metadata: { turned_off_by: off.actor, turned_off_at: off.at.toISOString(), cooldown_until: until.toISOString() },
    };
  }
  return undefined;
}

/** Turn safe mode on for one firing alert (unless it already is, or must not); records the outcome. */
export async function applySafeMode(
  unit: Pick<Unit, 'env' | 'db' | 'log'>,
  alert: DueAction,
  now: Date,
  requestId?: string,
): Promise<string> {
  let result: string;
  try {
    const skip = await skipReason(unit, alert, now);
    if (skip) {
      result = skip.result;
      // One ledger row per episode and reason: a deferred action is re-checked every minute.
      if (!(alert.action_result ?? '').startsWith(skip.result.split(':')[0]!)) {
        await recordAction(unit.db(), {
          actor: `alert:${alert.rule_id}`,
          action: 'alert.action_skipped',
          target: 'global.safe_mode',
          reason: skip.reason,
          requestId,
          metadata: { alert_id: alert.id, subject: alert.subject, result: skip.result, ...skip.metadata },
        });
      }
    } else if (plainlyOn(await safeModeStored(unit.db()))) {
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
