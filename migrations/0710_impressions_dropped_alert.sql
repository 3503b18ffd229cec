-- Issue 12: learning impressions dropped at the edge raise an alert. The isolates report what they
-- drop to KV (src/observability/drop-reports.ts); the per-minute sampler sums every isolate's
-- reports of the last 10 minutes into the gauge learning.impressions_dropped (subject 'all'),
-- and this rule fires on any drop. In a migration rather than a seed so that every database the
-- new sender runs against has it; ON CONFLICT DO NOTHING keeps an operator's tuning.
INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity, action, runbook) VALUES
  ('learning_impressions_dropped',
   'Learning impressions dropped at the edge (any, last 10 minutes, all isolates)',
   'learning.impressions_dropped', 'all', '>', 0, 0, 0, 'ticket', 'notify',
   'Decisions were served but their learning events never reached the EVENTS queue (isolate buffer full while sends failed). Check the queue (wrangler queues info, Cloudflare status) and logs learning.impressions.send_failed / .dropped; RUNBOOK §8 "Impressions dropped"')
ON CONFLICT (id) DO NOTHING;
