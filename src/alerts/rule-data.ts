// Which rules measured anything this evaluation (issue 20: alerts that see their own blindness).
// A rule "has data" when its metric query succeeded and returned a value for its subject (any
// subject when the rule has none) — samples below min_samples still count: the telemetry is alive,
// there is just little traffic. A failed query is no data. The 'alerts.no_data' metric reads the
// result, so the metrics_stale rule pages about a rule that has been blind for its no_data_seconds.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/sql';
import { execute } from '../db/sql';
import type { AlertRule } from './rules';
import { hasValue, type Measurement } from './state';

export const NO_DATA_METRIC = 'alerts.no_data';

export function ruleHasData(rule: AlertRule, measured: Measurement[] | undefined): boolean {
  return (measured ?? []).some((m) => (rule.subject === null || m.subject === rule.subject) && hasValue(m));
}

/** Record this evaluation: first sight of a rule, and the last time each rule had data. */
export async function recordRuleData(db: Db, rules: AlertRule[], measured: Map<string, Measurement[]>, now: Date): Promise<void> {
  const rows = rules
    .filter((r) => r.metric !== NO_DATA_METRIC)
    .map((r) => ({ rule_id: r.id, data: ruleHasData(r, measured.get(r.metric)) }));
  if (rows.length === 0) return;
  await execute(
    db,
    sql`
    INSERT INTO public.alert_rule_data (rule_id, watched_since, last_data_at)
    SELECT x.rule_id, ${now.toISOString()}::timestamptz, CASE WHEN x.data THEN ${now.toISOString()}::timestamptz END
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(rule_id text, data boolean)
    ON CONFLICT (rule_id) DO UPDATE
      SET last_data_at = greatest(public.alert_rule_data.last_data_at, EXCLUDED.last_data_at)`,
  );
}
