// Alert evaluation (cron * * * * *, and POST /admin/alerts/evaluate): measure every enabled rule's
// metric as of `now`, step each (rule, subject) through the state machine, persist the episodes in
// one transaction, then log / webhook every transition and run the rules' actions.
//
// Concurrency: the transaction takes a transaction-level advisory lock, so two overlapping
// evaluations (a slow cron and a manual run) run one after the other and never both open the same
// episode; one that waits more than 10 s gives up (skipped: 'locked').
// A metric whose query fails is not judged at all: a broken query must not "resolve" real alerts.
import type { PoolClient } from '@neondatabase/serverless';
import type { Db } from '../db/client';
import type { Logger } from '../observability/logger';
import { errorFields } from '../observability/logger';
import { applySafeMode, dueSafeModeActions } from './actions';
import { isAlertMetric, measure } from './metrics';
import { enqueueWebhooks, logTransition, type AlertNotice } from './notify';
import { enabledRules, isSilenced, type AlertRule } from './rules';
import { breaches, step, type AlertState, type Measurement, type OpenState } from './state';

const LOCK_KEY = 7_245_119_500;

export interface EvalContext {
  env: Env;
  db: () => Db;
  log: Logger;
  requestId?: string;
}

export interface EvalResult {
  skipped?: 'locked';
  rules: number;
  transitions: AlertNotice[];
  actions: { alert_id: number; rule_id: string; result: string }[];
  errors: { rule_id: string; error: string }[];
  webhooks: number;
}

interface OpenRow { id: string; rule_id: string; subject: string; state: OpenState; pending_since: Date | string }

type Client = PoolClient;

function notice(rule: AlertRule, alertId: number, subject: string, from: AlertState | null, to: AlertState, value: number | null, now: Date): AlertNotice {
  return {
    alert_id: alertId, rule_id: rule.id, description: rule.description, subject, from, to, severity: rule.severity,
    value, threshold: rule.threshold, comparator: rule.comparator, action: rule.action, runbook: rule.runbook,
    at: now.toISOString(), silenced: isSilenced(rule, now),
  };
}

/** Apply one rule's measurements to its open episodes inside the transaction; returns the transitions. */
async function applyRule(client: Client, rule: AlertRule, measured: Measurement[], open: OpenRow[], now: Date): Promise<AlertNotice[]> {
  const bySubject = new Map(measured.filter((m) => rule.subject === null || m.subject === rule.subject).map((m) => [m.subject, m]));
  const subjects = new Set([...bySubject.keys(), ...open.map((o) => o.subject)]);
  const out: AlertNotice[] = [];
  for (const subject of subjects) {
    const m = bySubject.get(subject);
    const o = open.find((x) => x.subject === subject);
    const value = m?.value ?? null;
    const s = step(o && { state: o.state, pendingSince: new Date(o.pending_since) }, breaches(rule, m), now, rule.forSeconds);
    if (s.kind === 'none') continue;
    if (s.kind === 'hold') {
      await client.query('UPDATE public.alerts SET last_value = $2, last_evaluated_at = $3, updated_at = now() WHERE id = $1', [o!.id, value, now]);
      continue;
    }
    if (s.kind === 'open') {
      const { rows } = await client.query(
        `INSERT INTO public.alerts (rule_id, subject, state, severity, threshold, first_value, fired_value, last_value,
                                    pending_since, fired_at, last_evaluated_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $3 = 'firing' THEN $6::float8 END, $6, $7, CASE WHEN $3 = 'firing' THEN $7::timestamptz END, $7)
         RETURNING id`,
        [rule.id, subject, s.to, rule.severity, rule.threshold, value, now],
      );
      out.push(notice(rule, Number(rows[0].id), subject, null, s.to, value, now));
      continue;
    }
    await client.query(
      `UPDATE public.alerts SET state = $2, last_value = $3, last_evaluated_at = $4, updated_at = now(),
              fired_at = CASE WHEN $2 = 'firing' THEN $4::timestamptz ELSE fired_at END,
              fired_value = CASE WHEN $2 = 'firing' THEN $3::float8 ELSE fired_value END,
              resolved_at = CASE WHEN $2 IN ('resolved', 'cancelled') THEN $4::timestamptz ELSE resolved_at END
       WHERE id = $1`,
      [o!.id, s.to, value, now],
    );
    out.push(notice(rule, Number(o!.id), subject, s.from, s.to, value, now));
  }
  return out;
}

/** Close open episodes of rules that were disabled since (of ruleIds, when given): nobody watches them. */
async function closeOrphans(client: Client, now: Date, ruleIds: string[] | undefined): Promise<AlertNotice[]> {
  const { rows } = await client.query(
    `UPDATE public.alerts a SET state = CASE a.state WHEN 'firing' THEN 'resolved' ELSE 'cancelled' END,
            resolved_at = $1, last_evaluated_at = $1, updated_at = now()
     FROM public.alert_rules r
     WHERE r.id = a.rule_id AND NOT r.enabled AND a.state IN ('pending', 'firing')
       AND ($2::text[] IS NULL OR r.id = ANY($2))
     RETURNING a.id, a.subject, a.state, a.last_value, r.*`,
    [now, ruleIds ?? null],
  );
  return rows.map((r: any) =>
    notice({ ...r, threshold: Number(r.threshold), silencedUntil: r.silenced_until ? new Date(r.silenced_until) : null } as AlertRule,
      Number(r.id), r.subject, r.state === 'resolved' ? 'firing' : 'pending', r.state, r.last_value, now),
  );
}

export async function evaluateAlerts(c: EvalContext, now = new Date(), opts: { ruleIds?: string[] } = {}): Promise<EvalResult> {
  const db = c.db();
  const rules = await enabledRules(db, opts.ruleIds);
  const errors: EvalResult['errors'] = [];
  const measured = new Map<string, Measurement[]>();
  for (const metric of new Set(rules.map((r) => r.metric))) {
    if (!isAlertMetric(metric)) {
      for (const r of rules.filter((x) => x.metric === metric)) errors.push({ rule_id: r.id, error: `unknown metric "${metric}"` });
      continue;
    }
    try {
      measured.set(metric, await measure(db, metric, now));
    } catch (err) {
      c.log.error('alert.measure_failed', { metric, ...errorFields(err) });
      for (const r of rules.filter((x) => x.metric === metric)) errors.push({ rule_id: r.id, error: String(errorFields(err).error) });
    }
  }
  const judged = rules.filter((r) => measured.has(r.metric));

  const client = await db.pool.connect();
  const transitions: AlertNotice[] = [];
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL lock_timeout = '10s'");
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available
      await client.query('ROLLBACK');
      c.log.warn('alert.evaluation_skipped', { reason: 'another evaluation held the lock for 10 s' });
      return { skipped: 'locked', rules: rules.length, transitions: [], actions: [], errors, webhooks: 0 };
    }
    const { rows: open } = await client.query(
      `SELECT id, rule_id, subject, state, pending_since FROM public.alerts
       WHERE state IN ('pending', 'firing') AND rule_id = ANY($1) FOR UPDATE`,
      [judged.map((r) => r.id)],
    );
    for (const rule of judged) {
      transitions.push(...(await applyRule(client, rule, measured.get(rule.metric)!, (open as OpenRow[]).filter((o) => o.rule_id === rule.id), now)));
    }
    transitions.push(...(await closeOrphans(client, now, opts.ruleIds)));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }

  for (const n of transitions) logTransition(c.log, n);
  const webhooks = await enqueueWebhooks(c.env, transitions, c.log);

  const actions: EvalResult['actions'] = [];
  for (const due of await dueSafeModeActions(db, judged.map((r) => r.id))) {
    actions.push({ alert_id: due.id, rule_id: due.rule_id, result: await applySafeMode(c, due) });
  }
  return { rules: rules.length, transitions, actions, errors, webhooks };
}

/** The per-minute cron job: evaluates as of the trigger's scheduled time. */
export const alertsEvaluator = {
  name: 'alerts-evaluate',
  async run(c: EvalContext & { scheduledTime: number }) {
    const r = await evaluateAlerts(c, new Date(c.scheduledTime));
    return { rules: r.rules, transitions: r.transitions.length, actions: r.actions.length, errors: r.errors.length, webhooks: r.webhooks, skipped: r.skipped };
  },
};
