// Everything the dashboard shows, loaded panel by panel in parallel. Each panel is time-bounded
// and fails alone: a slow or broken view shows an error in its panel, the rest still renders.
// Every query reads a vw_* view, a rollup function, or a bounded slice (LIMIT) of a small table.
import type { Db } from '../db/client';
import { evaluateFlags } from '../flags';
import { withTimeout } from '../lib/time';
import type { Logger } from '../observability/logger';
import { errorFields } from '../observability/logger';

export type Row = Record<string, any>;

export interface DashboardData {
  generatedAt: string;
  /** rolloutPercent: a canary in progress ("on, except for N % of users" or the reverse). */
  safeMode: { enabled: boolean; rolloutPercent?: number; updatedAt?: string; updatedBy?: string } | null;
  flags: { key: string; value: unknown; updatedAt?: string; updatedBy?: string; rolloutPercent?: number }[] | null;
  queues: { discovery: Row[]; events: Row[]; gauges: Row[] } | null;
  dlq: { bySource: Row[]; latest: Row[] } | null;
  policies: { rows: Row[]; recent: Row[] } | null;
  slos: { kernel: Row[]; burn: Row[]; series: Row[] } | null;
  alerts: { active: Row[]; recent: Row[] } | null;
  ledger: Row[] | null;
  errors: Partial<Record<Panel, string>>;
}

export type Panel = 'flags' | 'queues' | 'dlq' | 'policies' | 'slos' | 'alerts' | 'ledger';

const PANEL_TIMEOUT_MS = 5_000;

export interface DashboardContext {
  env: Env;
  db: () => Db;
  log: Logger;
}

export async function loadDashboard(c: DashboardContext): Promise<DashboardData> {
  const db = c.db();
  const q = (sql: string, params: unknown[] = []) => db.query<Row>(sql, params);
  const errors: DashboardData['errors'] = {};
  const panel = async <T>(name: Panel, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await withTimeout(fn(), PANEL_TIMEOUT_MS, `dashboard panel ${name}`);
    } catch (err) {
      errors[name] = String(errorFields(err).error);
      c.log.warn('dashboard.panel_failed', { panel: name, ...errorFields(err) });
      return null;
    }
  };

  const [flags, queues, dlq, policies, slos, alerts, ledger] = await Promise.all([
    panel('flags', async () => {
      const [evaluated, meta] = await Promise.all([
        evaluateFlags({ env: c.env, db: c.db, log: c.log }),
        q('SELECT key, updated_at, updated_by FROM public.feature_flags'),
      ]);
      const byKey = new Map(meta.map((m) => [m.key, m]));
      return Object.entries(evaluated.values).map(([key, value]) => ({
        key, value, updatedAt: byKey.get(key)?.updated_at, updatedBy: byKey.get(key)?.updated_by,
        rolloutPercent: evaluated.rollouts[key as keyof typeof evaluated.rollouts]?.percent,
      }));
    }),
    panel('queues', async () => {
      const [discovery, events, gauges] = await Promise.all([
        q('SELECT * FROM public.vw_discovery_queue_health ORDER BY status'),
        q('SELECT * FROM public.vw_events_queue_health ORDER BY topic, status'),
        q(`SELECT * FROM public.vw_metric_gauges WHERE metric LIKE 'queue.%' ORDER BY metric, subject`),
      ]);
      return { discovery, events, gauges };
    }),
    panel('dlq', async () => {
      const [bySource, latest] = await Promise.all([
        q('SELECT source, count(*)::int AS count, max(dead_since) AS newest FROM public.vw_dead_letter_queue GROUP BY source ORDER BY source'),
        q('SELECT source, id, topic, attempts, last_error, dead_since FROM public.vw_dead_letter_queue LIMIT 10'),
      ]);
      return { bySource, latest };
    }),
    panel('policies', async () => {
      const [rows, recent] = await Promise.all([
        q('SELECT * FROM public.vw_policy_health ORDER BY policy'),
        q(`SELECT r.subject AS policy, r.value AS exploration_rate, r.samples, e.value AS epsilon
           FROM public.vw_metric_gauges r
           LEFT JOIN public.vw_metric_gauges e ON e.metric = 'policy.epsilon' AND e.subject = r.subject
           WHERE r.metric = 'policy.exploration_rate' ORDER BY r.subject`),
      ]);
      return { rows, recent };
    }),
    panel('slos', async () => {
      const [kernel, burn, series] = await Promise.all([
        q('SELECT * FROM public.vw_kernel_slos ORDER BY operation'),
        q('SELECT * FROM public.vw_slo_burnrate ORDER BY burn_rate DESC NULLS LAST, operation'),
        q('SELECT operation, step, burn_rate FROM public.slo_burnrate_series(now(), 10, 36)'),
      ]);
      return { kernel, burn, series };
    }),
    panel('alerts', async () => {
      const [active, recent] = await Promise.all([
        q('SELECT * FROM public.vw_alerts_active'),
        q(`SELECT a.id, a.rule_id, a.subject, a.state, a.fired_at, a.resolved_at, a.pending_since
           FROM public.alerts a WHERE a.state IN ('resolved', 'cancelled') ORDER BY a.id DESC LIMIT 5`),
      ]);
      return { active, recent };
    }),
    panel('ledger', () =>
      q(`SELECT id, "timestamp", actor, action, target, new_value, reason
         FROM public.ai_action_ledger ORDER BY "timestamp" DESC, id DESC LIMIT 12`)),
  ]);

  const safe = flags?.find((f) => f.key === 'global.safe_mode');
  return {
    generatedAt: new Date().toISOString(),
    safeMode: safe
      ? { enabled: (safe.value as { enabled: boolean }).enabled, rolloutPercent: safe.rolloutPercent, updatedAt: safe.updatedAt, updatedBy: safe.updatedBy }
      : null,
    flags, queues, dlq, policies, slos, alerts, ledger, errors,
  };
}
