-- Issue 21, the on-call experience: bounded discovery work per user, one message chain per job,
-- queue ages that say what they measure, and alert hints that point into docs/ONCALL.md.
-- Every statement is re-runnable.

-- ------------------------------------------------------------------------ one chain per job
-- `generation` names the message chain that owns a job. The relay stamps a fresh value (from the
-- sequence, so a relay that sent and then failed to commit leaves its message stale instead of
-- reusing the number) on every message it sends, and queue-worker stamps one when it leases a job
-- itself. A message whose generation is not the row's is stale: the consumer acks it without
-- effect and the dead-letter hook ignores it. So the relay's resend after 15 minutes, queue-worker
-- taking over a job, or a redrive each end the previous chain instead of running beside it.
-- Rows from before this migration have 0, and messages without a generation keep the old rules.
ALTER TABLE public.marketplace_discovery_queue ADD COLUMN IF NOT EXISTS generation bigint NOT NULL DEFAULT 0;
CREATE SEQUENCE IF NOT EXISTS public.marketplace_discovery_generation_seq;
GRANT USAGE, SELECT ON SEQUENCE public.marketplace_discovery_generation_seq TO service_role;
COMMENT ON COLUMN public.marketplace_discovery_queue.generation IS
  'message chain that owns the job (relay send or queue-worker lease); older messages are stale';

-- ------------------------------------------------------------------ discovery for what changed
-- PUT /v1/me/interests queues discovery only for the interests it added or changed, and cancels
-- the queued jobs of the interests it removed (both in the PUT's transaction, under its per-user
-- lock). enqueue_discovery_for_user, the guide's function, is the same call for every interest.

-- Queue one discovery job per listed interest of the user (every interest when p_interest_ids is
-- NULL) that has no live (queued/processing) job, and one outbox row for them; returns how many.
CREATE OR REPLACE FUNCTION public.enqueue_discovery_for_interests(p_user_id uuid, p_interest_ids uuid[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_ids uuid[];
  v_interests uuid[];
BEGIN
  IF auth.uid() IS NOT NULL AND auth.uid() IS DISTINCT FROM p_user_id THEN
    RAISE EXCEPTION 'cannot enqueue discovery for another user' USING ERRCODE = 'insufficient_privilege';
  END IF;

  WITH inserted AS (
    INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, topic)
    SELECT ui.user_id, ui.interest_id, 'discovery.user-signup'
    FROM public.user_interests ui
    WHERE ui.user_id = p_user_id
      AND (p_interest_ids IS NULL OR ui.interest_id = ANY(p_interest_ids))
    ORDER BY ui.affinity DESC, ui.interest_id
    ON CONFLICT (user_id, interest_id) WHERE status IN ('queued', 'processing') DO NOTHING
    RETURNING id, interest_id
  )
  SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(interest_id ORDER BY id), '{}')
  INTO v_ids, v_interests
  FROM inserted;

  IF cardinality(v_ids) > 0 THEN
    INSERT INTO public.events_queue (topic, payload)
    VALUES ('discovery.user-signup',
            jsonb_build_object('user_id', p_user_id, 'job_ids', to_jsonb(v_ids),
                               'interest_ids', to_jsonb(v_interests)));
  END IF;
  RETURN cardinality(v_ids);
END
$$;

-- The guide's function (§2E): every interest of the user without a live job. Unchanged behaviour.
CREATE OR REPLACE FUNCTION public.enqueue_discovery_for_user(p_user_id uuid) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT public.enqueue_discovery_for_interests(p_user_id, NULL) $$;

-- Cancel (delete) the queued jobs of these interests of the user; returns how many. Jobs already
-- leased finish (their effect is state-based and harmless); a message already sent for a deleted
-- job finds no row and is acked without effect. Rows are locked in id order so two cancellers
-- never deadlock each other.
CREATE OR REPLACE FUNCTION public.cancel_discovery_for_interests(p_user_id uuid, p_interest_ids uuid[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_cancelled integer;
BEGIN
  IF auth.uid() IS NOT NULL AND auth.uid() IS DISTINCT FROM p_user_id THEN
    RAISE EXCEPTION 'cannot cancel discovery for another user' USING ERRCODE = 'insufficient_privilege';
  END IF;
  DELETE FROM public.marketplace_discovery_queue
  WHERE id IN (SELECT id FROM public.marketplace_discovery_queue
               WHERE user_id = p_user_id AND interest_id = ANY(p_interest_ids) AND status = 'queued'
               ORDER BY id
               FOR UPDATE);
  GET DIAGNOSTICS v_cancelled = ROW_COUNT;
  RETURN v_cancelled;
END
$$;

REVOKE EXECUTE ON FUNCTION public.enqueue_discovery_for_interests(uuid, uuid[]),
                           public.cancel_discovery_for_interests(uuid, uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.enqueue_discovery_for_interests(uuid, uuid[]),
                          public.cancel_discovery_for_interests(uuid, uuid[]) TO authenticated, service_role;

-- ------------------------------------------------------------------- queue health, honestly
-- The guide's columns stay exactly as they were (status, count, p95_age_sec, avg_age_sec, oldest,
-- oldest_age_sec: age since enqueue, up to now for live rows, to death for dead ones, to finish for
-- done ones); age_since_sec is added: seconds since the most recent change of any row in the status
-- (a fresh 'done' value means the workers are finishing jobs right now; a stale 'queued' one that
-- nothing was enqueued or requeued lately).
CREATE OR REPLACE VIEW public.vw_discovery_queue_health AS
SELECT status,
       count(*)::bigint AS count,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY age_sec)::numeric, 1) AS p95_age_sec,
       round(avg(age_sec)::numeric, 1) AS avg_age_sec,
       min(created_at) AS oldest,
       round(max(age_sec)::numeric, 1) AS oldest_age_sec,
       round(extract(epoch FROM now() - max(updated_at))::numeric, 1) AS age_since_sec
FROM (
  SELECT status, created_at, updated_at,
         extract(epoch FROM coalesce(CASE status WHEN 'error' THEN dead_at END, now()) - created_at) AS age_sec
  FROM public.marketplace_discovery_queue
  WHERE status IN ('queued', 'processing', 'error')
  UNION ALL
  SELECT status, created_at, updated_at, extract(epoch FROM processed_at - created_at)
  FROM public.marketplace_discovery_queue
  WHERE status = 'done' AND processed_at >= now() - interval '24 hours'
) q
GROUP BY status;

COMMENT ON COLUMN public.vw_discovery_queue_health.p95_age_sec IS
  'p95 seconds since enqueue: until now (queued, processing), until death (error), until finished (done, last 24 h)';
COMMENT ON COLUMN public.vw_discovery_queue_health.avg_age_sec IS 'mean of the same ages as p95_age_sec';
COMMENT ON COLUMN public.vw_discovery_queue_health.oldest IS 'created_at of the oldest row in the status';
COMMENT ON COLUMN public.vw_discovery_queue_health.oldest_age_sec IS 'largest of the same ages as p95_age_sec';
COMMENT ON COLUMN public.vw_discovery_queue_health.age_since_sec IS
  'seconds since the most recent change (updated_at) of any row in the status';

-- ------------------------------------------------------------------ alert hints → ONCALL.md
-- Each seeded rule's runbook hint points to its section of docs/ONCALL.md. Only hints still
-- holding the text an earlier seed wrote are replaced: an operator's own hint stays.
UPDATE public.alert_rules r SET runbook = v.hint, updated_at = now(), updated_by = 'migration:0760'
FROM (VALUES
  ('discovery_queue_p95_age',
   'Scale worker concurrency: check stuck leases (RUNBOOK "Queue stuck"), raise the DISCOVERY consumer''s max_concurrency, run POST /functions/v1/queue-worker',
   'docs/ONCALL.md#discovery_queue_p95_age: stuck leases or a stalled relay/consumer; drain with POST /functions/v1/queue-worker'),
  ('auth_login_p95',
   'Check DB connections and the identity provider (JWKS fetch); see vw_kernel_slos',
   'docs/ONCALL.md#auth_login_p95: database connections or the identity provider (JWKS); see vw_kernel_slos'),
  ('slo_burn_rate',
   'Safe mode is turned on automatically. Find the cause (vw_slo_burnrate, logs), then turn safe mode off by hand',
   'docs/ONCALL.md#slo_burn_rate: safe mode was turned on automatically; find the cause, then turn it off by hand'),
  ('exploration_off_epsilon',
   'Review bandit config: ranker.policy flag, vw_policy_health, gauge policy.exploration_rate, recent ranker deploys',
   'docs/ONCALL.md#exploration_off_epsilon: review the ranker.policy flag and vw_policy_health'),
  ('http_5xx_rate',
   'Roll back the deployment: npx wrangler rollback --env production (RUNBOOK "Rollback")',
   'docs/ONCALL.md#http_5xx_rate: roll back the code (npm run deploy:rollback while a canary split is active)'),
  ('slo_fast_burn',
   'Page: the SLO budget burns fast; see vw_slo_burnrate',
   'docs/ONCALL.md#slo_fast_burn: the SLO budget burns fast; see vw_slo_burnrate'),
  ('slo_slow_burn',
   'Ticket: the SLO budget burns steadily; see vw_slo_burnrate',
   'docs/ONCALL.md#slo_slow_burn: the SLO budget burns steadily; see vw_slo_burnrate'),
  -- Issue 12's rule (migration 0710, on main): matches nothing where that migration has not run.
  ('learning_impressions_dropped',
   'Decisions were served but their learning events never reached the EVENTS queue (isolate buffer full while sends failed). Check the queue (wrangler queues info, Cloudflare status) and logs learning.impressions.send_failed / .dropped; RUNBOOK §8 "Impressions dropped"',
   'docs/ONCALL.md#learning_impressions_dropped: learning events never reached the EVENTS queue; check the queue and logs learning.impressions.send_failed / .dropped'),
  -- Issue 14's rule (migration 0740).
  ('ratelimit_fallback',
   'The exact limiter (RateLimiter Durable Objects or the ANON_RATE_LIMITER binding) fails or is slow: logs ratelimit.unavailable, Cloudflare status; limits still hold at a tenth per isolate (RUNBOOK §7 Rate limits)',
   'docs/ONCALL.md#ratelimit_fallback: the exact limiter fails or is slow; logs ratelimit.unavailable; limits hold at a tenth per isolate')
) AS v(id, old_hint, hint)
WHERE r.id = v.id AND r.runbook IS NOT DISTINCT FROM v.old_hint;
