// `npm run slo -- export --format openslo`: the SLO targets (public.slo_targets) and the burn-rate
// alert rules (public.alert_rules, metrics slo.*) as OpenSLO v1 documents (https://openslo.com), for
// the tools that manage SLOs. Pure: rows in, documents out (scripts/slo.ts reads and writes).
//
// Per target operation: an availability SLO (ratio SLI: 5xx / requests, Occurrences, the target's
// availability over a rolling 30 days — the budget the burn-rate alerts are defined against) and a
// latency SLO (threshold SLI: p95 ≤ latency_p95_ms per 1-hour slice, the window vw_kernel_slos
// judges; the share of good slices is held to the same availability target). The SLIs query the
// series GET /admin/metrics exposes (a Prometheus scrape of it, README "Observability").
// Per enabled slo.* rule: an AlertCondition (kind burnrate) and an AlertPolicy notifying the alert
// webhook, attached to the availability SLOs of the rule's subject (all of them when it has none).

export interface SloTargetRow {
  operation: string;
  latency_p95_ms: number;
  availability_target: number;
  description: string | null;
}

export interface AlertRuleRow {
  id: string;
  description: string;
  metric: string;
  subject: string | null;
  threshold: number;
  for_seconds: number;
  severity: string;
  enabled: boolean;
}

export type OpenSloDoc = { apiVersion: 'openslo/v1'; kind: string; metadata: { name: string; displayName?: string }; spec: object };

/** Which rules are burn-rate conditions, and the window each looks back over (migration 0500). */
const BURN_RULES: Record<string, (r: AlertRuleRow) => { threshold: number; lookback: string; note: string }> = {
  // threshold: the rule's own (the guide's 2.0) over the 1-hour window of vw_slo_burnrate.burn_rate.
  'slo.burn_rate': (r) => ({ threshold: r.threshold, lookback: '1h', note: '' }),
  // The SRE workbook's multi-window alerts are booleans in the view; OpenSLO has one lookback per
  // condition, so the long window is the condition and the short one is named in the description.
  'slo.page_alert': () => ({ threshold: 14.4, lookback: '1h', note: ' (and over 5m: multi-window)' }),
  'slo.ticket_alert': () => ({ threshold: 6, lookback: '6h', note: ' (and over 30m: multi-window)' }),
};

export const WEBHOOK_TARGET = 'alert-webhook';
const SERVICE = 'edge-discovery';

/** An OpenSLO name (lowercase DNS-like): 'POST /v1/rank' → 'post-v1-rank'. */
export function sloName(operation: string): string {
  return operation
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
}

const promString = (s: string) => JSON.stringify(s); // PromQL string literals accept JSON escapes
const minutes = (seconds: number) => `${Math.max(1, Math.ceil(seconds / 60))}m`; // OpenSLO durations have no seconds
const doc = (kind: string, name: string, spec: object, displayName?: string): OpenSloDoc => ({
  apiVersion: 'openslo/v1',
  kind,
  metadata: displayName ? { name, displayName } : { name },
  spec,
});
const prometheus = (query: string) => ({ metricSource: { type: 'Prometheus', spec: { query } } });

export function openSloDocuments(targets: readonly SloTargetRow[], rules: readonly AlertRuleRow[]): OpenSloDoc[] {
  const names = new Map<string, string>();
  for (const t of targets) {
    const name = sloName(t.operation);
    if (names.has(name)) throw new Error(`operations "${names.get(name)}" and "${t.operation}" map to the same OpenSLO name ${name}`);
    names.set(name, t.operation);
  }
  const burnRules = rules.filter((r) => r.enabled && Object.hasOwn(BURN_RULES, r.metric));
  const policiesOf = (operation: string) =>
    burnRules.filter((r) => r.subject === null || r.subject === operation).map((r) => `${sloName(r.id)}-policy`);

  const docs: OpenSloDoc[] = [
    doc('AlertNotificationTarget', WEBHOOK_TARGET, {
      target: 'webhook',
      description: 'ALERT_WEBHOOK_URL: every alert transition, signed per Standard Webhooks (README "Observability")',
    }),
  ];
  for (const r of burnRules) {
    const c = BURN_RULES[r.metric]!(r);
    const condition = `${sloName(r.id)}-condition`;
    docs.push(
      doc('AlertCondition', condition, {
        description: `${r.description}${c.note}`.slice(0, 1050),
        severity: r.severity,
        condition: { kind: 'burnrate', op: 'gt', threshold: c.threshold, lookbackWindow: c.lookback, alertAfter: minutes(r.for_seconds) },
      }),
      doc(
        'AlertPolicy',
        `${sloName(r.id)}-policy`,
        {
          description: `alert rule ${r.id}`,
          alertWhenNoData: false,
          alertWhenResolved: true,
          alertWhenBreaching: true,
          conditions: [{ conditionRef: condition }],
          notificationTargets: [{ targetRef: WEBHOOK_TARGET }],
        },
        r.id,
      ),
    );
  }
  for (const t of targets) {
    const name = sloName(t.operation);
    const op = promString(t.operation);
    docs.push(
      doc(
        'SLI',
        `${name}-errors`,
        {
          description: `Share of ${t.operation} requests that failed (5xx)`,
          ratioMetric: {
            counter: false,
            bad: prometheus(`edge_request_errors{operation=${op}}`),
            total: prometheus(`edge_request_duration_seconds_count{operation=${op}}`),
          },
        },
        t.operation,
      ),
      doc(
        'SLO',
        `${name}-availability`,
        {
          description: (t.description ?? `Availability of ${t.operation}`).slice(0, 1050),
          service: SERVICE,
          indicatorRef: `${name}-errors`,
          timeWindow: [{ duration: '30d', isRolling: true }],
          budgetingMethod: 'Occurrences',
          objectives: [{ displayName: `${t.availability_target * 100} % of requests succeed`, target: t.availability_target }],
          alertPolicies: policiesOf(t.operation),
        },
        t.operation,
      ),
      doc(
        'SLI',
        `${name}-p95`,
        {
          description: `p95 latency of ${t.operation} (seconds)`,
          thresholdMetric: prometheus(`histogram_quantile(0.95, edge_request_duration_seconds_bucket{operation=${op}})`),
        },
        t.operation,
      ),
      doc(
        'SLO',
        `${name}-latency`,
        {
          description: `p95 of ${t.operation} at most ${t.latency_p95_ms} ms per hour (vw_kernel_slos)`,
          service: SERVICE,
          indicatorRef: `${name}-p95`,
          timeWindow: [{ duration: '30d', isRolling: true }],
          budgetingMethod: 'Timeslices',
          objectives: [
            {
              displayName: `p95 ≤ ${t.latency_p95_ms} ms`,
              op: 'lte',
              value: t.latency_p95_ms / 1000,
              target: t.availability_target,
              timeSliceTarget: 1,
              timeSliceWindow: '1h',
            },
          ],
        },
        t.operation,
      ),
    );
  }
  return docs;
}
