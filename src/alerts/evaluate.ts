// Alert evaluation (cron * * * * *, and POST /admin/alerts/evaluate): measure every enabled rule's
// metric as of `now`, step each (rule, subject) through the state machine, persist the episodes in
// one transaction, then log / webhook every transition and run the rules' actions.
//
// Concurrency: the transaction takes a transaction-level advisory lock, so two overlapping
// evaluations (a slow cron and a manual run) run one after the other and never both open the same
// episode; one that waits more than 10 s gives up (skipped: 'locked').
// A metric whose query fails is not judged at all: a broken query must not "resolve" real alerts.
import type { Db } from '../db/sql';
import { transaction } from '../db/sql';
import { errorFields } from '../observability/logger';
import type { Job } from '../platform/job';
import type { Unit } from '../platform/unit';
import { applySafeMode, dueSafeModeActions } from './actions';
import { isAlertMetric, measure } from './metrics';
import { type AlertNotice, enqueueWebhooks, logTransition } from './notify';
import { closeOrphanEpisodes, holdEpisode, lockEvaluation, lockOpenEpisodes, moveEpisode, type OpenEpisode, openEpisode } from './queries';
import { NO_DATA_METRIC, recordRuleData } from './rule-data';
import { type AlertRule, enabledRules, isSilenced, toRule } from './rules';
import { type AlertState, type Measurement, observe, step } from './state';

export interface EvalResult {
  skipped?: 'locked';
  rules: number;
  transitions: AlertNotice[];
  actions: { alert_id: number; rule_id: string; result: string }[];
  errors: { rule_id: string; error: string }[];
  webhooks: number;
}

/** Thrown inside the transaction when another evaluation holds the lock: rolls it back. */
class EvaluationLocked extends Error {}

/** The message of a failed statement: the driver's own (drizzle wraps it with the whole query). */
function failure(err: unknown): string {
  return String(errorFields(err).error);
}

function notice(
  rule: AlertRule,
  alertId: number,
  subject: string,
  from: AlertState | null,
  to: AlertState,
  value: number | null,
  now: Date,
): AlertNotice {
  return {
    alert_id: alertId,
    rule_id: rule.id,
    description: rule.description,
    subject,
    from,
    to,
    severity: rule.severity,
    value,
    threshold: rule.threshold,
    comparator: rule.comparator,
    action: rule.action,
    runbook: rule.runbook,
    at: now.toISOString(),
    silenced: isSilenced(rule, now),
  };
}

/** Apply one rule's measurements to its open episodes inside the transaction; returns the transitions. */
async function applyRule(tx: Db, rule: AlertRule, measured: Measurement[], open: OpenEpisode[], now: Date): Promise<AlertNotice[]> {
  const bySubject = new Map(measured.filter((m) => rule.subject === null || m.subject === rule.subject).map((m) => [m.subject, m]));
  const subjects = new Set([...bySubject.keys(), ...open.map((o) => o.subject)]);
  const out: AlertNotice[] = [];
  for (const subject of subjects) {
    const m = bySubject.get(subject);
    const o = open.find((x) => x.subject === subject);
    const value = m?.value ?? null;
    const s = step(o, observe(rule, m), now, rule.forSeconds, rule.clearForSeconds);
    if (s.kind === 'none') continue;
    if (s.kind === 'hold') {
      await holdEpisode(tx, o!.id, value, now, s.clearSince ?? null);
      continue;
    }
    if (s.kind === 'open') {
      const id = await openEpisode(tx, {
        ruleId: rule.id,
        subject,
        state: s.to,
        severity: rule.severity,
        threshold: rule.threshold,
        value,
        now,
      });
      out.push(notice(rule, id, subject, null, s.to, value, now));
      continue;
    }
    await moveEpisode(tx, o!.id, s.to, value, now);
    out.push(notice(rule, o!.id, subject, s.from, s.to, value, now));
  }
  return out;
}

/** Close open episodes of rules that were disabled since (of ruleIds, when given): nobody watches them. */
async function closeOrphans(tx: Db, now: Date, ruleIds: string[] | undefined): Promise<AlertNotice[]> {
  const rows = await closeOrphanEpisodes(tx, now, ruleIds);
  return rows.map((r) =>
    notice(toRule(r), r.alert_id, r.alert_subject, r.alert_state === 'resolved' ? 'firing' : 'pending', r.alert_state, r.last_value, now),
  );
}

/**
 * Measure every metric the rules use; a metric whose query fails is reported, not judged. The
 * rules' own blindness ('alerts.no_data') is measured last, after this evaluation's data is recorded.
 */
async function measureAll(unit: Pick<Unit, 'log'>, db: Db, rules: AlertRule[], now: Date, errors: EvalResult['errors']) {
  const measured = new Map<string, Measurement[]>();
  const metrics = [...new Set(rules.map((r) => r.metric))];
  for (const metric of [...metrics.filter((m) => m !== NO_DATA_METRIC), NO_DATA_METRIC]) {
    if (metric === NO_DATA_METRIC) {
      try {
        await recordRuleData(db, rules, measured, now);
      } catch (err) {
        // Without this evaluation's record the blindness check would judge stale data: not judged.
        unit.log.error('alert.rule_data_failed', errorFields(err));
        continue;
      }
      if (!metrics.includes(NO_DATA_METRIC)) continue;
    }
    if (!isAlertMetric(metric)) {
      for (const r of rules.filter((x) => x.metric === metric)) errors.push({ rule_id: r.id, error: `unknown metric "${metric}"` });
      continue;
    }
    try {
      measured.set(metric, await measure(db, metric, now));
    } catch (err) {
      const error = failure(err);
      unit.log.error('alert.measure_failed', { metric, ...errorFields(err), error });
      for (const r of rules.filter((x) => x.metric === metric)) errors.push({ rule_id: r.id, error });
    }
  }
  return measured;
}

export async function evaluateAlerts(
  unit: Pick<Unit, 'env' | 'db' | 'log'>,
  now = new Date(),
  opts: { ruleIds?: string[]; requestId?: string } = {},
): Promise<EvalResult> {
  const db = unit.db();
  const rules = await enabledRules(db, opts.ruleIds);
  const errors: EvalResult['errors'] = [];
  const measured = await measureAll(unit, db, rules, now, errors);
  const judged = rules.filter((r) => measured.has(r.metric));

  let transitions: AlertNotice[];
  try {
    transitions = await transaction(db, async (tx) => {
      if (!(await lockEvaluation(tx))) throw new EvaluationLocked();
      const open = await lockOpenEpisodes(
        tx,
        judged.map((r) => r.id),
      );
      const out: AlertNotice[] = [];
      for (const rule of judged) {
        out.push(
          ...(await applyRule(
            tx,
            rule,
            measured.get(rule.metric)!,
            open.filter((o) => o.ruleId === rule.id),
            now,
          )),
        );
      }
      out.push(...(await closeOrphans(tx, now, opts.ruleIds)));
      return out;
    });
  } catch (err) {
    if (!(err instanceof EvaluationLocked)) throw err;
    unit.log.warn('alert.evaluation_skipped', { reason: 'another evaluation held the lock for 10 s' });
    return { skipped: 'locked', rules: rules.length, transitions: [], actions: [], errors, webhooks: 0 };
  }

  for (const n of transitions) logTransition(unit.log, n);
  const webhooks = await enqueueWebhooks(unit.env, transitions, unit.log);

  const actions: EvalResult['actions'] = [];
  for (const due of await dueSafeModeActions(
    db,
    judged.map((r) => r.id),
  )) {
    actions.push({ alert_id: due.id, rule_id: due.rule_id, result: await applySafeMode(unit, due, now, opts.requestId) });
  }
  return { rules: rules.length, transitions, actions, errors, webhooks };
}

/** The per-minute cron job: evaluates as of the trigger's scheduled time. */
export const alertsEvaluator: Job = {
  name: 'alerts-evaluate',
  async run(c) {
    const r = await evaluateAlerts(c, new Date(c.scheduledTime));
    return {
      rules: r.rules,
      transitions: r.transitions.length,
      actions: r.actions.length,
      errors: r.errors.length,
      webhooks: r.webhooks,
      skipped: r.skipped,
    };
  },
};
