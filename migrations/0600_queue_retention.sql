-- Retention for finished queue work (issue 8: "done queue rows"). The Postgres queue tables are
-- the durable ledger of the discovery work; finished rows ('done') are history nobody reads after
-- the health views' 24-hour window, so they go after retention_policies' window (14 days when
-- unset). Dead rows ('error') are the DLQ: they stay until an operator redrives or purges them;
-- live rows (queued, processing) are never touched.

-- One bounded retention delete, shared by the gc_* functions that sweep several tables: up to
-- p_batch rows of public.<p_table> whose <p_column> is older than p_keep and that match p_filter
-- (SQL text: callers pass constants, never user input). Returns how many went.
CREATE OR REPLACE FUNCTION public.gc_delete_expired(p_table text, p_column text, p_keep interval, p_filter text, p_batch integer)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_n bigint;
BEGIN
  EXECUTE format('DELETE FROM public.%1$I WHERE ctid IN (SELECT ctid FROM public.%1$I WHERE %2$I < now() - $1 AND %3$s LIMIT $2)',
                 p_table, p_column, p_filter)
    USING p_keep, p_batch;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END
$$;
REVOKE EXECUTE ON FUNCTION public.gc_delete_expired(text, text, interval, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.gc_delete_expired(text, text, interval, text, integer) TO service_role;

-- Deletes up to p_batch rows per table per call through the partial done indexes of 0502 (an
-- index range scan, short locks); returns how many went. The nightly cron calls it until a call
-- deletes less than a batch.
CREATE OR REPLACE FUNCTION public.gc_queue_done(p_batch integer DEFAULT 5000) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT coalesce(sum(public.gc_delete_expired(t, 'processed_at', public.retention_for(t, interval '14 days'),
                                               $c$status = 'done'$c$, p_batch)), 0)::bigint
  FROM unnest(ARRAY['marketplace_discovery_queue', 'events_queue']) AS t
$$;

REVOKE EXECUTE ON FUNCTION public.gc_queue_done(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.gc_queue_done(integer) TO service_role;

-- gc_metrics (0501) on the shared helper: same tables, windows and fallbacks.
CREATE OR REPLACE FUNCTION public.gc_metrics(p_batch integer DEFAULT 5000) RETURNS bigint
LANGUAGE sql
AS $$
  SELECT coalesce(sum(public.gc_delete_expired(v.tbl, v.col, public.retention_for(v.tbl, v.fallback), v.filter, p_batch)), 0)::bigint
  FROM (VALUES
      ('request_metrics_minute', 'minute',      interval '35 days',  'true'),
      ('gauge_metrics_minute',   'minute',      interval '35 days',  'true'),
      ('metrics_ingest_ledger',  'received_at', interval '8 days',   'true'),
      ('alerts',                 'created_at',  interval '180 days', $c$state IN ('resolved', 'cancelled')$c$)
    ) AS v(tbl, col, fallback, filter)
$$;
