-- Issue 20: the seeded rules' clear-for durations and the safe-mode action's scope. Only rules
-- nobody has tuned yet (updated_by IS NULL) are touched: an operator's change is never overwritten.
-- slo_burn_rate: safe mode changes only what the ranking path serves, so the action is limited to
-- its operations; an SLO breach elsewhere (GET /v1/flags, …) pages without touching safe mode.
UPDATE public.alert_rules
SET action_subjects = ARRAY['POST /v1/rank', 'POST /functions/v1/policy-ranker'],
    clear_for_seconds = 900
WHERE id = 'slo_burn_rate' AND updated_by IS NULL AND action_subjects IS NULL;

-- Watchdogs: rules about the telemetry itself, so its death pages instead of turning alerts green.
INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples,
                                severity, action, runbook, clear_for_seconds, no_data_seconds) VALUES
  ('metrics_stale', 'A rule has measured nothing for its no_data_seconds (its telemetry is dead or blind)',
   'alerts.no_data', NULL, '>', 0, 0, 0, 'page', 'notify',
   'docs/ONCALL.md#metrics_stale: the subject is the blind rule; check what feeds its metric (EVENTS consumer, per-minute cron, job_runs)',
   120, NULL),
  ('metrics_fresh', 'Newest request rollup or sampler gauge is older than 15 minutes',
   'metrics.freshness_sec', NULL, '>', 900, 0, 0, 'page', 'notify',
   'docs/ONCALL.md#metrics_fresh: requests = the EVENTS queue/consumer (or no traffic at all); gauges = the per-minute cron (metrics-sampler)',
   120, 900),
  ('cron_heartbeat', 'A cron job has not succeeded for 3 of its periods (public.job_runs)',
   'cron.heartbeat_overdue', NULL, '>', 1, 0, 0, 'page', 'notify',
   'docs/ONCALL.md#cron_heartbeat: SELECT * FROM public.cron_heartbeats_at(now()); then the job''s failed runs in public.job_runs',
   120, 900),
  ('dlq_size', 'Messages in the dead-letter queue (per source)',
   'dlq.size', NULL, '>', 0, 0, 0, 'ticket', 'notify',
   'docs/ONCALL.md#dlq_size: review, then redrive or purge (npm run dlq)',
   0, 900)
ON CONFLICT (id) DO NOTHING;

-- The request-driven rules are watched for blindness too (15 minutes without a measurement).
UPDATE public.alert_rules SET no_data_seconds = 900
WHERE id IN ('http_5xx_rate', 'slo_burn_rate') AND updated_by IS NULL AND no_data_seconds IS NULL;
