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
--   candidate supply in it, record a marketplace_gaps row where supply is short of min_supply (and
--   keep an existing gap row current, gap 0 once supply has recovered), then status 'done'.
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
  v_known_supply integer;
  v_known_required integer;
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

  -- Write the gap row only when the measurement changed it: popular interests share one gap row,
  -- and an unconditional upsert would make every job for them queue on that row's lock.
  SELECT candidate_count, required_count INTO v_known_supply, v_known_required
  FROM public.marketplace_gaps WHERE interest_id = v_job.interest_id AND category_id = v_category;
  IF FOUND THEN
    IF (v_known_supply, v_known_required) IS DISTINCT FROM (v_supply, v_required) THEN
      UPDATE public.marketplace_gaps g
         SET candidate_count = v_supply, required_count = v_required,
             -- a gap that had closed and opens again is a new detection
             detected_at = CASE WHEN g.gap = 0 AND v_supply < v_required THEN now() ELSE g.detected_at END
       WHERE g.interest_id = v_job.interest_id AND g.category_id = v_category;
    END IF;
  ELSIF v_supply < v_required THEN
    INSERT INTO public.marketplace_gaps AS g (interest_id, category_id, candidate_count, required_count)
    VALUES (v_job.interest_id, v_category, v_supply, v_required)
    ON CONFLICT (interest_id, category_id) DO UPDATE
      SET candidate_count = EXCLUDED.candidate_count, required_count = EXCLUDED.required_count;
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

-- Run a batch of leased jobs in one round trip (a consumer batch, a queue-worker call): each job
-- in its own subtransaction, so one failing job rolls back only itself. A failed job keeps its
-- attempts, gets last_error (SQLSTATE: message) and goes back to 'queued' with its lease cleared:
--   p_retry_in_flight = true  (DISCOVERY consumer): a retry message is in flight, so relayed_at is
--                             stamped and the relay does not send a second copy;
--   p_retry_in_flight = false (queue-worker): once attempts reach p_max_attempts it is dead
--                             ('error', dead_at set) and shows in vw_dead_letter_queue.
-- p_jobs: [{"id": uuid, "token": uuid}, …]. One row per job: outcome done | missing | lease_lost |
-- failed, the job's result (done), the error and whether it is now dead (failed).
CREATE OR REPLACE FUNCTION public.discovery_process_jobs(p_jobs jsonb, p_retry_in_flight boolean,
                                                         p_max_attempts integer DEFAULT 6,
                                                         p_lock_timeout_ms integer DEFAULT 1000)
RETURNS TABLE (job_id uuid, outcome text, result jsonb, error text, dead boolean)
LANGUAGE plpgsql SET search_path = public, pg_temp
AS $$
DECLARE
  j record;
  v_result jsonb;
  v_status text;
BEGIN
  FOR j IN SELECT * FROM jsonb_to_recordset(p_jobs) AS x(id uuid, token uuid) LOOP
    job_id := j.id;
    BEGIN
      v_result := public.discovery_process_job(j.id, j.token, p_lock_timeout_ms);
      outcome := v_result ->> 'outcome';
      result := CASE WHEN outcome = 'done' THEN v_result - 'outcome' END;
      error := NULL;
      dead := false;
    EXCEPTION WHEN OTHERS THEN
      error := left(SQLSTATE || ': ' || SQLERRM, 1000);
      UPDATE public.marketplace_discovery_queue q
         SET status = CASE WHEN NOT p_retry_in_flight AND q.attempts >= p_max_attempts THEN 'error' ELSE 'queued' END,
             dead_at = CASE WHEN NOT p_retry_in_flight AND q.attempts >= p_max_attempts THEN now() END,
             last_error = error, lease_token = NULL, lease_expires_at = NULL,
             relayed_at = CASE WHEN p_retry_in_flight THEN now() ELSE q.relayed_at END
       WHERE q.id = j.id AND q.lease_token = j.token
      RETURNING q.status INTO v_status;
      outcome := 'failed';
      result := NULL;
      dead := coalesce(v_status = 'error', false);
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

REVOKE EXECUTE ON FUNCTION public.discovery_process_jobs(jsonb, boolean, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.discovery_process_jobs(jsonb, boolean, integer, integer) TO service_role;
