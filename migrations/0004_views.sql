-- Operator views. Each returns zero rows (never an error) on an empty database.
-- DROP + CREATE (not CREATE OR REPLACE) so a later migration may change their columns.

-- Age of a job: how long it has waited (queued/processing) or waited until it finished.
DROP VIEW IF EXISTS public.vw_discovery_queue_health;
CREATE VIEW public.vw_discovery_queue_health AS
SELECT status,
       count(*)::bigint AS count,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY age_sec)::numeric, 1) AS p95_age_sec,
       round(avg(age_sec)::numeric, 1) AS avg_age_sec,
       min(created_at) AS oldest,
       round(max(age_sec)::numeric, 1) AS oldest_age_sec
FROM (
  SELECT status, created_at,
         extract(epoch FROM coalesce(CASE status WHEN 'done' THEN processed_at
                                                 WHEN 'error' THEN dead_at END, now()) - created_at) AS age_sec
  FROM public.marketplace_discovery_queue
) q
GROUP BY status;

DROP VIEW IF EXISTS public.vw_events_queue_health;
CREATE VIEW public.vw_events_queue_health AS
SELECT topic, status,
       count(*)::bigint AS count,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY age_sec)::numeric, 1) AS p95_age_sec,
       min(created_at) AS oldest
FROM (
  SELECT topic, status, created_at,
         extract(epoch FROM coalesce(CASE status WHEN 'done' THEN processed_at
                                                 WHEN 'error' THEN dead_at END, now()) - created_at) AS age_sec
  FROM public.events_queue
) q
GROUP BY topic, status;

-- Dead work from both queues, newest death first.
DROP VIEW IF EXISTS public.vw_dead_letter_queue;
CREATE VIEW public.vw_dead_letter_queue AS
SELECT * FROM (
  SELECT 'discovery'::text AS source, q.id::text AS id, q.topic, q.user_id, q.interest_id,
         ic.name AS interest_name, q.attempts, q.last_error,
         coalesce(q.dead_at, q.updated_at) AS dead_since, q.created_at
  FROM public.marketplace_discovery_queue q
  LEFT JOIN public.interest_catalog ic ON ic.id = q.interest_id
  WHERE q.status = 'error'
  UNION ALL
  SELECT 'events'::text, e.id::text, e.topic, nullif(e.payload ->> 'user_id', '')::uuid, NULL::uuid,
         NULL::text, e.attempts, e.last_error, coalesce(e.dead_at, e.updated_at), e.created_at
  FROM public.events_queue e
  WHERE e.status = 'error'
) d
ORDER BY dead_since DESC, id;

-- Per logged policy: volume, exploration vs the configured epsilon, rewards, propensities.
DROP VIEW IF EXISTS public.vw_policy_health;
CREATE VIEW public.vw_policy_health AS
SELECT le.policy,
       count(DISTINCT coalesce(le.decision_id::text, 'row:' || le.id))::bigint AS decisions,
       count(*)::bigint AS impressions,
       round(avg(le.explored::int)::numeric, 4) AS exploration_rate,
       (SELECT (f.value ->> 'epsilon')::numeric FROM public.feature_flags f
         WHERE f.key = 'ranker.policy' AND f.value ->> 'version' = le.policy) AS epsilon,
       count(le.reward)::bigint AS rewarded,
       round(avg(le.reward)::numeric, 4) AS mean_reward,
       round(avg(le.p_exp)::numeric, 4) AS mean_p_exp,
       max(le.ts) AS last_event_at
FROM public.learning_events le
GROUP BY le.policy;

-- Per operation over the last hour, from the per-minute rollups.
DROP VIEW IF EXISTS public.vw_kernel_slos;
CREATE VIEW public.vw_kernel_slos AS
WITH w AS (
  SELECT operation, sum(requests)::bigint AS requests, sum(errors)::bigint AS errors,
         public.histogram_sum(buckets) AS buckets
  FROM public.request_metrics_minute
  WHERE minute >= date_trunc('minute', now()) - interval '59 minutes'
  GROUP BY operation
)
SELECT w.operation, w.requests, w.errors,
       round((w.errors::numeric / nullif(w.requests, 0)), 5) AS error_rate,
       public.histogram_quantile(w.buckets, 0.50) AS p50_ms,
       public.histogram_quantile(w.buckets, 0.95) AS p95_ms,
       public.histogram_quantile(w.buckets, 0.99) AS p99_ms,
       t.latency_p95_ms AS target_p95_ms,
       t.availability_target,
       CASE WHEN t.operation IS NULL THEN NULL
            ELSE public.histogram_quantile(w.buckets, 0.95) <= t.latency_p95_ms
                 AND (w.errors::double precision / nullif(w.requests, 0)) <= 1 - t.availability_target
       END AS met
FROM w
LEFT JOIN public.slo_targets t ON t.operation = w.operation
WHERE w.requests > 0;

-- Error-budget burn rate per SLO (error rate / allowed error rate) over 5m, 30m, 1h, 6h, with
-- the multi-window alerts of the SRE workbook: page = 1h and 5m > 14.4; ticket = 6h and 30m > 6.
-- burn_rate is the 1h window (the guide alerts when it exceeds 2.0).
DROP VIEW IF EXISTS public.vw_slo_burnrate;
CREATE VIEW public.vw_slo_burnrate AS
WITH m AS (
  SELECT r.operation, r.minute, r.requests, r.errors
  FROM public.request_metrics_minute r
  WHERE r.minute >= date_trunc('minute', now()) - interval '359 minutes'
), w AS (
  SELECT t.operation, t.availability_target,
         sum(m.requests) FILTER (WHERE m.minute >= date_trunc('minute', now()) - interval '4 minutes') AS req_5m,
         sum(m.errors)   FILTER (WHERE m.minute >= date_trunc('minute', now()) - interval '4 minutes') AS err_5m,
         sum(m.requests) FILTER (WHERE m.minute >= date_trunc('minute', now()) - interval '29 minutes') AS req_30m,
         sum(m.errors)   FILTER (WHERE m.minute >= date_trunc('minute', now()) - interval '29 minutes') AS err_30m,
         sum(m.requests) FILTER (WHERE m.minute >= date_trunc('minute', now()) - interval '59 minutes') AS req_1h,
         sum(m.errors)   FILTER (WHERE m.minute >= date_trunc('minute', now()) - interval '59 minutes') AS err_1h,
         sum(m.requests) AS req_6h,
         sum(m.errors)   AS err_6h
  FROM public.slo_targets t
  JOIN m ON m.operation = t.operation
  GROUP BY t.operation, t.availability_target
), b AS (
  SELECT operation, availability_target, req_1h AS requests_1h,
         round((coalesce(err_5m, 0)  / nullif(req_5m, 0)  / (1 - availability_target))::numeric, 3) AS burn_rate_5m,
         round((coalesce(err_30m, 0) / nullif(req_30m, 0) / (1 - availability_target))::numeric, 3) AS burn_rate_30m,
         round((coalesce(err_1h, 0)  / nullif(req_1h, 0)  / (1 - availability_target))::numeric, 3) AS burn_rate_1h,
         round((coalesce(err_6h, 0)  / nullif(req_6h, 0)  / (1 - availability_target))::numeric, 3) AS burn_rate_6h
  FROM w
)
SELECT operation, availability_target, requests_1h,
       burn_rate_1h AS burn_rate,
       burn_rate_5m, burn_rate_30m, burn_rate_1h, burn_rate_6h,
       coalesce(burn_rate_1h > 14.4 AND burn_rate_5m > 14.4, false) AS page_alert,
       coalesce(burn_rate_6h > 6 AND burn_rate_30m > 6, false) AS ticket_alert
FROM b;
