// What each alert rule's `metric` measures: one query per metric returning (subject, value, samples)
// as of the evaluation time `at`. They read the guide's views or the per-minute rollups as of `at`,
// never raw event tables, so evaluation stays cheap as data grows.
import { type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, nullable, queryRows } from '../db/sql';

const ts = (at: string) => sql`${at}::timestamptz`;

export const METRIC_QUERIES = {
  // Guide §4: SELECT p95_age_sec FROM vw_discovery_queue_health WHERE status = 'queued' (alert > 300 s).
  'discovery_queue.p95_age_sec': () => sql`
    SELECT 'queued' AS subject, p95_age_sec::float8 AS value, count::bigint AS samples
    FROM public.vw_discovery_queue_health WHERE status = 'queued'`,
  // Guide §4: vw_kernel_slos.p95_ms (auth.login > 600 ms); every operation's p95 over the last hour.
  'kernel.p95_ms': (at: string) => sql`
    SELECT operation AS subject, p95_ms AS value, requests AS samples FROM public.kernel_slos_at(${ts(at)})`,
  'kernel.error_rate': (at: string) => sql`
    SELECT operation AS subject, error_rate::float8 AS value, requests AS samples FROM public.kernel_slos_at(${ts(at)})`,
  // Guide §4: vw_slo_burnrate.burn_rate > 2.0 (1 h window), and the SRE workbook's two alerts.
  'slo.burn_rate': (at: string) => sql`
    SELECT operation AS subject, burn_rate::float8 AS value, requests_1h AS samples FROM public.slo_burnrate_at(${ts(at)})`,
  'slo.page_alert': (at: string) => sql`
    SELECT operation AS subject, page_alert::int::float8 AS value, requests_1h AS samples FROM public.slo_burnrate_at(${ts(at)})`,
  'slo.ticket_alert': (at: string) => sql`
    SELECT operation AS subject, ticket_alert::int::float8 AS value, requests_1h AS samples FROM public.slo_burnrate_at(${ts(at)})`,
  // Guide §4: exploration_rate off epsilon by more than 50 % (relative deviation), per live policy.
  // From the sampler's gauges (last 15 minutes of learning events vs the effective epsilon), not
  // from vw_policy_health: that view aggregates the whole retention window, where a broken bandit
  // would move the rate by a fraction of a percent per day. In safe mode the effective epsilon is
  // 0, so the rule is not judged (zero exploration is then the intent).
  'policy.exploration_deviation': (at: string) => sql`
    SELECT r.subject, abs(r.value - e.value) / e.value AS value, r.samples
    FROM public.gauge_metrics_minute r
    JOIN public.gauge_metrics_minute e ON e.metric = 'policy.epsilon' AND e.subject = r.subject AND e.minute = r.minute
    WHERE r.metric = 'policy.exploration_rate' AND e.value > 0
      AND r.minute = (SELECT max(minute) FROM public.gauge_metrics_minute
                      WHERE metric = 'policy.epsilon' AND minute <= ${ts(at)}
                        AND minute > ${ts(at)} - interval '10 minutes')`,
  // Guide §4: 5xx error rate > 1 %: all HTTP operations together ('all') and each one, last 5 minutes.
  'http.5xx_rate': (at: string) => sql`
    WITH w AS (
      SELECT operation, sum(requests) AS requests, sum(errors) AS errors
      FROM public.request_metrics_minute
      WHERE minute > date_trunc('minute', ${ts(at)}) - interval '5 minutes'
        AND minute <= date_trunc('minute', ${ts(at)})
        AND operation ~ '^[A-Z]+ /'
      GROUP BY operation
    )
    SELECT 'all' AS subject, sum(errors)::float8 / sum(requests)::float8 AS value, sum(requests)::bigint AS samples
    FROM w HAVING sum(requests) > 0
    UNION ALL
    SELECT operation, errors::float8 / requests::float8, requests::bigint FROM w WHERE requests > 0`,
  // Share of the HTTP requests of the last 5 minutes whose rate limit the per-isolate fallback
  // decided (the limiter object or the anonymous binding failed or was slow); samples = those
  // fallback decisions. Recorded under the operation 'ratelimit.fallback' (src/ratelimit/fallback.ts).
  'ratelimit.fallback_share': (at: string) => sql`
    WITH w AS (
      SELECT coalesce(sum(requests) FILTER (WHERE operation = 'ratelimit.fallback'), 0) AS fallback,
             coalesce(sum(requests) FILTER (WHERE operation ~ '^[A-Z]+ /'), 0) AS http
      FROM public.request_metrics_minute
      WHERE minute > date_trunc('minute', ${ts(at)}) - interval '5 minutes'
        AND minute <= date_trunc('minute', ${ts(at)})
    )
    SELECT 'all' AS subject, fallback::float8 / greatest(http, fallback, 1)::float8 AS value, fallback::bigint AS samples FROM w`,
  // Dead letters per source (latest sample of the per-minute sampler, within 10 minutes: a stopped
  // sampler leaves no measurement — no data, which the dlq_size rule reports — not an old one).
  'dlq.size': (at: string) => sql`
    SELECT subject, value, samples FROM public.gauge_metrics_minute
    WHERE metric = 'dlq.size' AND minute = (SELECT max(minute) FROM public.gauge_metrics_minute
                                            WHERE metric = 'dlq.size' AND minute <= ${ts(at)}
                                              AND minute > ${ts(at)} - interval '10 minutes')`,
  // Learning impressions the isolates dropped (buffer full while EVENTS sends failed, or refused),
  // summed over every isolate's KV reports of the last 10 minutes by the sampler. The latest sample
  // of the last 10 minutes: a stopped sampler leaves no measurement rather than an old one.
  'learning.impressions_dropped': (at: string) => sql`
    SELECT subject, value, samples FROM public.gauge_metrics_minute
    WHERE metric = 'learning.impressions_dropped'
      AND minute = (SELECT max(minute) FROM public.gauge_metrics_minute
                    WHERE metric = 'learning.impressions_dropped' AND minute <= ${ts(at)}
                      AND minute > ${ts(at)} - interval '10 minutes')`,
  // Issue 20, telemetry watchdogs. Seconds since the newest request rollup ('requests': the EVENTS
  // pipeline) and the newest sampler gauge ('gauges': the per-minute cron), as of `at`; both read
  // the newest row through an index (dlq.size is sampled every minute).
  'metrics.freshness_sec': (at: string) => sql`
    SELECT 'requests' AS subject, extract(epoch FROM ${ts(at)} - max(minute))::float8 AS value, 1::bigint AS samples
    FROM public.request_metrics_minute WHERE minute <= ${ts(at)} HAVING max(minute) IS NOT NULL
    UNION ALL
    SELECT 'gauges', extract(epoch FROM ${ts(at)} - max(minute))::float8, 1::bigint
    FROM public.gauge_metrics_minute WHERE metric = 'dlq.size' AND minute <= ${ts(at)} HAVING max(minute) IS NOT NULL`,
  // Per cron job: time since its last successful run (public.job_runs) over the time it may go
  // without one (cron_heartbeats_at, migration 0750): > 1 means overdue.
  'cron.heartbeat_overdue': (at: string) => sql`
    SELECT job AS subject, age_sec / allowed_sec AS value, 1::bigint AS samples FROM public.cron_heartbeats_at(${ts(at)})`,
  // Per rule watched for blindness (no_data_seconds set): 1 when it has measured nothing for that
  // long (alert_rule_data, updated by every evaluation before this is measured), else 0.
  'alerts.no_data': (at: string) => sql`
    SELECT r.id AS subject,
           (extract(epoch FROM ${ts(at)} - coalesce(d.last_data_at, d.watched_since)) >= r.no_data_seconds)::int::float8 AS value,
           1::bigint AS samples
    FROM public.alert_rules r JOIN public.alert_rule_data d ON d.rule_id = r.id
    WHERE r.enabled AND r.no_data_seconds IS NOT NULL`,
} as const satisfies Record<string, (at: string) => SQL>;

export type AlertMetric = keyof typeof METRIC_QUERIES;

const MeasurementRow = z.object({ subject: col.text, value: nullable.number, samples: nullable.number });

/** One metric's (subject, value, samples) rows as of `at` (ISO time). */
export function measurementRows(db: Db, metric: AlertMetric, at: string) {
  return queryRows(db, `alert metric ${metric}`, MeasurementRow, METRIC_QUERIES[metric](at));
}
