-- Retention for finished queue work (issue 8: "done queue rows"). The Postgres queue tables are
-- the durable ledger of the discovery work; finished rows ('done') are history nobody reads after
-- the health views' 24-hour window, so they go after retention_policies' window (14 days when
-- unset). Dead rows ('error') are the DLQ: they stay until an operator redrives or purges them;
-- live rows (queued, processing) are never touched.
-- Deletes up to p_batch rows per table per call through the partial done indexes of 0502 (an
-- index range scan, short locks); returns how many went. The nightly cron calls it until a call
-- deletes less than a batch.
CREATE OR REPLACE FUNCTION public.gc_queue_done(p_batch integer DEFAULT 5000) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_total bigint := 0;
  v_n bigint;
  v_table text;
BEGIN
  FOREACH v_table IN ARRAY ARRAY['marketplace_discovery_queue', 'events_queue'] LOOP
    EXECUTE format(
      'DELETE FROM public.%1$I WHERE id IN (SELECT id FROM public.%1$I
         WHERE status = ''done'' AND processed_at < now() - $1 ORDER BY processed_at LIMIT $2)', v_table)
      USING public.retention_for(v_table, interval '14 days'), p_batch;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
  END LOOP;
  RETURN v_total;
END
$$;

REVOKE EXECUTE ON FUNCTION public.gc_queue_done(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.gc_queue_done(integer) TO service_role;
