-- Queue health views that stay fast while the queues' history grows. The first versions (0004)
-- aggregate every row ever queued; finished jobs are never deleted, so at 200 000 rows they took
-- 120–180 ms (bench/views.ts). Live states (queued, processing) and dead ones (error: the DLQ,
-- bounded by purges) are still counted in full; finished ones ('done') are those finished in the
-- last 24 hours, read through a partial index. Columns and the guide's queries are unchanged:
--   SELECT p95_age_sec FROM public.vw_discovery_queue_health WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS marketplace_discovery_queue_done_idx
  ON public.marketplace_discovery_queue (processed_at) WHERE status = 'done';
CREATE INDEX IF NOT EXISTS events_queue_done_idx
  ON public.events_queue (processed_at) WHERE status = 'done';

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
         extract(epoch FROM coalesce(CASE status WHEN 'error' THEN dead_at END, now()) - created_at) AS age_sec
  FROM public.marketplace_discovery_queue
  WHERE status IN ('queued', 'processing', 'error')
  UNION ALL
  SELECT status, created_at, extract(epoch FROM processed_at - created_at)
  FROM public.marketplace_discovery_queue
  WHERE status = 'done' AND processed_at >= now() - interval '24 hours'
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
         extract(epoch FROM coalesce(CASE status WHEN 'error' THEN dead_at END, now()) - created_at) AS age_sec
  FROM public.events_queue
  WHERE status IN ('queued', 'processing', 'error')
  UNION ALL
  SELECT topic, status, created_at, extract(epoch FROM processed_at - created_at)
  FROM public.events_queue
  WHERE status = 'done' AND processed_at >= now() - interval '24 hours'
) q
GROUP BY topic, status;
