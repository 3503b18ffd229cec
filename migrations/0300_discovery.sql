-- Discovery on Cloudflare Queues. The Postgres tables stay the durable ledger; this migration adds
-- the job processor (the rocker-discovery-run logic, shared by the DISCOVERY consumer and the
-- queue-worker route) and the partial indexes the relay and the lease paths scan.
-- Every statement is re-runnable.

-- Relay and lease scans: only live rows, oldest first.
CREATE INDEX IF NOT EXISTS marketplace_discovery_queue_queued_idx
  ON public.marketplace_discovery_queue (created_at, id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS events_queue_outbox_idx
  ON public.events_queue (topic, created_at, id) WHERE status = 'queued';

-- Run discovery for one leased job and mark it done, atomically:
--   ensure the interest's category (so suggestions can join through the mapping), measure active
--   candidate supply in it, upsert marketplace_gaps where supply is short of min_supply (and keep
--   an existing gap row current when supply has recovered), then status 'done'.
-- The job row is locked first, so two callers holding the same job serialise: the second sees
-- 'done' (or another lease) and changes nothing. Effects are state-based (measured counts, natural
-- keys), so running a job again has the effect of running it once.
-- Returns {"outcome": "done", category_id, candidate_count, required_count, gap}, or
-- {"outcome": "missing"} (row gone, e.g. its interest was deleted) or {"outcome": "lease_lost"}.
-- p_lock_timeout_ms bounds every lock wait: a blocked job fails fast and is retried with backoff
-- instead of holding a consumer batch hostage.
CREATE OR REPLACE FUNCTION public.discovery_process_job(p_job_id uuid, p_lease_token uuid,
                                                        p_lock_timeout_ms integer DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = public, pg_temp
AS $$
DECLARE
  v_job public.marketplace_discovery_queue%ROWTYPE;
  v_category uuid;
  v_required integer;
  v_supply integer;
BEGIN
  PERFORM set_config('lock_timeout', greatest(coalesce(p_lock_timeout_ms, 1000), 1) || 'ms', true);

  SELECT * INTO v_job FROM public.marketplace_discovery_queue WHERE id = p_job_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('outcome', 'missing');
  END IF;
  IF v_job.status <> 'processing' OR v_job.lease_token IS DISTINCT FROM p_lease_token THEN
    RETURN jsonb_build_object('outcome', 'lease_lost', 'status', v_job.status);
  END IF;

  v_category := public.ensure_category_for_interest(v_job.interest_id);
  SELECT min_supply INTO v_required FROM public.marketplace_categories WHERE id = v_category;
  SELECT count(*)::int INTO v_supply
  FROM public.marketplace_candidates WHERE category_id = v_category AND active;

  IF v_supply < v_required THEN
    INSERT INTO public.marketplace_gaps AS g (interest_id, category_id, candidate_count, required_count)
    VALUES (v_job.interest_id, v_category, v_supply, v_required)
    ON CONFLICT (interest_id, category_id) DO UPDATE
      SET candidate_count = EXCLUDED.candidate_count,
          required_count  = EXCLUDED.required_count,
          -- a gap that had closed and opens again is a new detection
          detected_at     = CASE WHEN g.gap = 0 THEN now() ELSE g.detected_at END;
  ELSE
    UPDATE public.marketplace_gaps
       SET candidate_count = v_supply, required_count = v_required
     WHERE interest_id = v_job.interest_id AND category_id = v_category
       AND (candidate_count, required_count) IS DISTINCT FROM (v_supply, v_required);
  END IF;

  UPDATE public.marketplace_discovery_queue
     SET status = 'done', processed_at = now(), lease_token = NULL, lease_expires_at = NULL
   WHERE id = p_job_id;

  RETURN jsonb_build_object('outcome', 'done', 'category_id', v_category,
                            'candidate_count', v_supply, 'required_count', v_required,
                            'gap', greatest(v_required - v_supply, 0));
END
$$;

REVOKE EXECUTE ON FUNCTION public.discovery_process_job(uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.discovery_process_job(uuid, uuid, integer) TO service_role;
