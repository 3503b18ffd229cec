-- SLO targets per operation, the guide's five alert thresholds (§4) as rules, and retention windows
-- of the metrics tables. ON CONFLICT DO NOTHING: an operator's tuning is never overwritten.
-- Each rule's runbook hint names its section of docs/ONCALL.md (test/integration/alert-hints.test.ts).
-- Operation names are route templates ("METHOD /path") or named kernel operations.
INSERT INTO public.slo_targets (operation, latency_p95_ms, availability_target, description) VALUES
  ('POST /v1/rank',                   300, 0.999, 'Ranking hot path (KV only, never Postgres)'),
  ('POST /functions/v1/policy-ranker', 300, 0.999, 'Guide alias of POST /v1/rank'),
  ('POST /v1/rewards',                500, 0.999, 'Reward logging (enqueue only)'),
  ('GET /v1/flags',                   200, 0.999, 'Flags evaluated for the caller (memory/KV)'),
  ('GET /v1/me/interests',            500, 0.999, 'User interests (Postgres, RLS)'),
  ('PUT /v1/me/interests',            800, 0.999, 'Replace interests and enqueue discovery'),
  ('POST /v1/me/signals',             500, 0.999, 'Intent signals'),
  ('GET /v1/me/suggestions',          800, 0.995, 'Marketplace suggestions (SQL function)'),
  ('queue.events.lag',              60000, 0.999, 'EVENTS queue: enqueue → consumer within a minute (p95)'),
  ('queue.discovery.lag',          120000, 0.999, 'DISCOVERY queue: enqueue → consumer within two minutes (p95)')
ON CONFLICT (operation) DO NOTHING;

INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity, action, runbook) VALUES
  ('discovery_queue_p95_age', 'Discovery queue backlog: p95 age of queued jobs > 300 s',
   'discovery_queue.p95_age_sec', 'queued', '>', 300, 300, 1, 'ticket', 'notify',
   'docs/ONCALL.md#discovery_queue_p95_age: stuck leases or a stalled relay/consumer; drain with POST /functions/v1/queue-worker'),
  ('auth_login_p95', 'auth.login p95 latency > 600 ms (last hour)',
   'kernel.p95_ms', 'auth.login', '>', 600, 300, 20, 'ticket', 'notify',
   'docs/ONCALL.md#auth_login_p95: database connections or the identity provider (JWKS); see vw_kernel_slos'),
  ('slo_burn_rate', 'Error-budget burn rate > 2.0 on an SLO (1 h window)',
   'slo.burn_rate', NULL, '>', 2.0, 120, 100, 'page', 'safe_mode',
   'docs/ONCALL.md#slo_burn_rate: safe mode was turned on automatically; find the cause, then turn it off by hand'),
  ('exploration_off_epsilon', 'Exploration rate (last 15 min) off the effective epsilon by more than 50 %',
   'policy.exploration_deviation', NULL, '>', 0.5, 900, 500, 'ticket', 'notify',
   'docs/ONCALL.md#exploration_off_epsilon: review the ranker.policy flag and vw_policy_health'),
  ('http_5xx_rate', 'HTTP 5xx rate > 1 % (last 5 minutes, all routes)',
   'http.5xx_rate', 'all', '>', 0.01, 300, 100, 'page', 'notify',
   'docs/ONCALL.md#http_5xx_rate: roll back the code (npm run deploy:rollback while a canary split is active)'),
  ('slo_fast_burn', 'SRE fast burn: 1 h and 5 m burn rate > 14.4 (2 % of a 30-day budget in an hour)',
   'slo.page_alert', NULL, '>', 0, 0, 100, 'page', 'notify',
   'docs/ONCALL.md#slo_fast_burn: the SLO budget burns fast; see vw_slo_burnrate'),
  ('slo_slow_burn', 'SRE slow burn: 6 h and 30 m burn rate > 6 (5 % of a 30-day budget in 6 hours)',
   'slo.ticket_alert', NULL, '>', 0, 0, 100, 'ticket', 'notify',
   'docs/ONCALL.md#slo_slow_burn: the SLO budget burns steadily; see vw_slo_burnrate')
ON CONFLICT (id) DO NOTHING;

INSERT INTO public.retention_policies (table_name, retain, batch_size) VALUES
  ('request_metrics_minute', interval '35 days', 5000),
  ('gauge_metrics_minute',   interval '35 days', 5000),
  ('metrics_ingest_ledger',  interval '8 days',  5000),
  ('alerts',                 interval '180 days', 5000)
ON CONFLICT (table_name) DO NOTHING;
