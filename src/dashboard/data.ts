// Everything the dashboard shows, loaded panel by panel in parallel. Each panel is time-bounded
// and fails alone: a slow or broken view shows an error in its panel, the rest still renders.
// The queries are in queries.ts (and the SLO views in src/observability/queries.ts).
import { type Watchdogs, watchdogs } from '../alerts/watchdogs';
import { evaluateFlags } from '../flags';
import { errorFields } from '../observability/logger';
import { type BurnRate, burnRates, type KernelSlo, kernelSlos } from '../observability/queries';
import type { Unit } from '../platform/unit';
import { withTimeout } from '../util/time';
import {
  type ActiveAlert,
  activeAlerts,
  type BurnPoint,
  burnRateSeries,
  type DeadBySource,
  type DeadLetterRow,
  type DiscoveryHealth,
  deadBySource,
  discoveryHealth,
  type EventsHealth,
  eventsHealth,
  flagMeta,
  type Gauge,
  latestActions,
  latestDeadLetters,
  type PolicyHealth,
  policyHealth,
  queueGauges,
  type RecentExploration,
  recentExploration,
  recentlyClosedAlerts,
} from './queries';

export type ClosedAlert = Awaited<ReturnType<typeof recentlyClosedAlerts>>[number];
export type LedgerRow = Awaited<ReturnType<typeof latestActions>>[number];

export interface DashboardData {
  generatedAt: string;
  /** rolloutPercent: a canary in progress ("on, except for N % of users" or the reverse). */
  safeMode: { enabled: boolean; rolloutPercent?: number; updatedAt?: Date; updatedBy?: string | null } | null;
  flags: { key: string; value: unknown; updatedAt?: Date; updatedBy?: string | null; rolloutPercent?: number }[] | null;
  queues: { discovery: DiscoveryHealth[]; events: EventsHealth[]; gauges: Gauge[] } | null;
  dlq: { bySource: DeadBySource[]; latest: DeadLetterRow[] } | null;
  policies: { rows: PolicyHealth[]; recent: RecentExploration[] } | null;
  slos: { kernel: KernelSlo[]; burn: BurnRate[]; series: BurnPoint[] } | null;
  alerts: { active: ActiveAlert[]; recent: ClosedAlert[] } | null;
  /** Metric freshness, cron heartbeats, DLQ size, blind rules (what the watchdog rules judge). */
  watchdogs: Watchdogs | null;
  ledger: LedgerRow[] | null;
  errors: Partial<Record<Panel, string>>;
}

export type Panel = 'flags' | 'queues' | 'dlq' | 'policies' | 'slos' | 'alerts' | 'watchdogs' | 'ledger';

const PANEL_TIMEOUT_MS = 5_000;

/** A failed query's own error (drizzle wraps the driver's error, quoting the whole statement). */
export async function loadDashboard(unit: Pick<Unit, 'env' | 'db' | 'log'>): Promise<DashboardData> {
  const db = unit.db();
  const errors: DashboardData['errors'] = {};
  const panel = async <T>(name: Panel, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await withTimeout(fn(), PANEL_TIMEOUT_MS, `dashboard panel ${name}`);
    } catch (err) {
      errors[name] = String(errorFields(err).error);
      unit.log.warn('dashboard.panel_failed', { panel: name, ...errorFields(err) });
      return null;
    }
  };

  const [flags, queues, dlq, policies, slos, alerts, watch, ledger] = await Promise.all([
    panel('flags', async () => {
      const [evaluated, meta] = await Promise.all([evaluateFlags(unit), flagMeta(db)]);
      const byKey = new Map(meta.map((m) => [m.key, m]));
      return Object.entries(evaluated.values).map(([key, value]) => ({
        key,
        value,
        updatedAt: byKey.get(key)?.updatedAt,
        updatedBy: byKey.get(key)?.updatedBy,
        rolloutPercent: evaluated.rollouts[key as keyof typeof evaluated.rollouts]?.percent,
      }));
    }),
    panel('queues', async () => {
      const [discovery, events, gauges] = await Promise.all([discoveryHealth(db), eventsHealth(db), queueGauges(db)]);
      return { discovery, events, gauges };
    }),
    panel('dlq', async () => {
      const [bySource, latest] = await Promise.all([deadBySource(db), latestDeadLetters(db)]);
      return { bySource, latest };
    }),
    panel('policies', async () => {
      const [rows, recent] = await Promise.all([policyHealth(db), recentExploration(db)]);
      return { rows, recent };
    }),
    panel('slos', async () => {
      const [kernel, burn, series] = await Promise.all([kernelSlos(db), burnRates(db), burnRateSeries(db)]);
      return { kernel, burn, series };
    }),
    panel('alerts', async () => {
      const [active, recent] = await Promise.all([activeAlerts(db), recentlyClosedAlerts(db)]);
      return { active, recent };
    }),
    panel('watchdogs', () => watchdogs(db, new Date())),
    panel('ledger', () => latestActions(db)),
  ]);

  const safe = flags?.find((f) => f.key === 'global.safe_mode');
  return {
    generatedAt: new Date().toISOString(),
    safeMode: safe
      ? {
          enabled: (safe.value as { enabled: boolean }).enabled,
          rolloutPercent: safe.rolloutPercent,
          updatedAt: safe.updatedAt,
          updatedBy: safe.updatedBy,
        }
      : null,
    flags,
    queues,
    dlq,
    policies,
    slos,
    alerts,
    watchdogs: watch,
    ledger,
    errors,
  };
}
