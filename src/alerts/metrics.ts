// The alert metrics: which names a rule's `metric` may take (one query each, in queries-metrics.ts)
// and measuring one of them as of an evaluation time.
import type { Db } from '../db/sql';
import { type AlertMetric, METRIC_QUERIES, measurementRows } from './queries-metrics';
import type { Measurement } from './state';

export type { AlertMetric };
export const ALERT_METRIC_NAMES: readonly AlertMetric[] = Object.keys(METRIC_QUERIES).filter((m) => isAlertMetric(m));
export function isAlertMetric(m: string): m is AlertMetric {
  return Object.hasOwn(METRIC_QUERIES, m);
}

/** Measure one metric as of `now`. */
export async function measure(db: Db, metric: AlertMetric, now: Date): Promise<Measurement[]> {
  const rows = await measurementRows(db, metric, now.toISOString());
  return rows.map((r) => ({ subject: r.subject, value: r.value, samples: r.samples ?? 0 }));
}
