-- Bounded influence (issue 12): nobody can steer other users' rankings.
--   1. Rewards live in a configured range per surface (reward_ranges; the '*' row is the default
--      for every surface without its own). The edge checks the range the request names; the
--      consumer checks the impression's real surface and records a reward outside it as rejected.
--   2. Only candidates the platform knows enter the shared statistics: catalog ids
--      (marketplace_candidates) and ids registered for a surface by the service role
--      (surface_candidates).
--   3. One user moves a candidate's shared estimate by at most one counted impression and one
--      counted reward per (surface, candidate, user, day): learning_candidate_user_days.
-- Every statement is re-runnable.

-- ---------------------------------------------------------------- reward ranges
-- Seeded by seeds/0700_bounded_influence.sql ('*' = [0, 1]); changed through PUT
-- /admin/reward-ranges/{surface} (or `npm run reward-ranges`), ledgered. Postgres is the truth:
-- the per-minute reward-range-sync job copies the table to KV LIMITS for the edge.
CREATE TABLE IF NOT EXISTS public.reward_ranges (
  surface     text PRIMARY KEY CHECK (surface = '*' OR surface ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  min_reward  double precision NOT NULL CHECK (min_reward >= -1e6),
  max_reward  double precision NOT NULL CHECK (max_reward <= 1e6),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text,
  CHECK (min_reward < max_reward)
);

-- The range a reward on this surface must fall in: the surface's own row, else the '*' row, else
-- [0, 1] (the documented default, should an operator delete the '*' row).
CREATE OR REPLACE FUNCTION public.reward_range_for(p_surface text, OUT min_reward double precision, OUT max_reward double precision)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(s.min_reward, d.min_reward, 0), coalesce(s.max_reward, d.max_reward, 1)
  FROM (SELECT 1) one
  LEFT JOIN public.reward_ranges s ON s.surface = p_surface
  LEFT JOIN public.reward_ranges d ON d.surface = '*'
$$;

CREATE OR REPLACE FUNCTION public.reward_in_range(p_surface text, p_reward double precision) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT p_reward BETWEEN r.min_reward AND r.max_reward FROM public.reward_range_for(p_surface) r
$$;

-- Rewards the consumer (or the rollup's sweep) refused because they are outside the range of
-- their impression's real surface: kept (never silently dropped) with the reason, counted in
-- gauge_metrics_minute as learning.rewards_rejected per surface and minute, and expired with the
-- parked rewards (7 days after receipt).
ALTER TABLE public.learning_rewards
  ADD COLUMN IF NOT EXISTS surface     text,
  ADD COLUMN IF NOT EXISTS rejected_at timestamptz,
  ADD COLUMN IF NOT EXISTS rejection   text;
CREATE INDEX IF NOT EXISTS learning_rewards_rejected_idx
  ON public.learning_rewards (rejected_at) WHERE rejected_at IS NOT NULL;

-- ---------------------------------------------------------------- known candidates
-- Ids registered for a surface by the service role (POST /admin/surfaces/{surface}/candidates,
-- `npm run candidates`, ledgered). Catalog ids (marketplace_candidates) are known on every surface.
CREATE TABLE IF NOT EXISTS public.surface_candidates (
  surface        text NOT NULL CHECK (surface ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  candidate_id   text NOT NULL CHECK (length(candidate_id) BETWEEN 1 AND 128),
  registered_at  timestamptz NOT NULL DEFAULT now(),
  registered_by  text,
  PRIMARY KEY (surface, candidate_id)
);

-- Known = registered for the surface, or a catalog id (its canonical lower-case uuid text, as
-- hydrate-features publishes it). The CASE keeps the uuid cast away from free text.
CREATE OR REPLACE FUNCTION public.learning_candidate_known(p_surface text, p_candidate_id text) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT EXISTS (SELECT 1 FROM public.surface_candidates s WHERE s.surface = p_surface AND s.candidate_id = p_candidate_id)
      OR CASE WHEN p_candidate_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              THEN EXISTS (SELECT 1 FROM public.marketplace_candidates c WHERE c.id = p_candidate_id::uuid)
              ELSE false END
$$;

-- ---------------------------------------------------------------- per-user-day bound
-- What each user has contributed to a known candidate's shared statistics on one UTC day (of the
-- event): at most one counted impression and one counted reward (reward_event_id: the
-- learning_events row whose reward counted; an operator's later correction of that row's reward
-- flows through, any other reward of the same user, candidate and day does not). Written only by
-- the learning rollup (under its advisory lock). NULL user ids (direct SQL inserts) share the nil
-- uuid. Rows follow learning_events' retention window (gc_learning_events below).
CREATE TABLE IF NOT EXISTS public.learning_candidate_user_days (
  surface          text NOT NULL,
  candidate_id     text NOT NULL,
  user_id          uuid NOT NULL,
  day              date NOT NULL,
  impression       boolean NOT NULL DEFAULT false,
  reward_event_id  bigint,
  reward           double precision,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (surface, candidate_id, user_id, day)
);
CREATE INDEX IF NOT EXISTS learning_candidate_user_days_day_idx ON public.learning_candidate_user_days (day);

-- ---------------------------------------------------------------- retention
-- The guide's gc_learning_events(), now also deleting per-user-day rows past the same window
-- (bounded by the same p_max_rows). Returns the rows deleted from both tables.
CREATE OR REPLACE FUNCTION public.gc_learning_events(p_max_rows integer DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_cutoff timestamptz := now() - public.retention_for('learning_events', interval '90 days');
  v_deleted bigint;
  v_days bigint;
BEGIN
  DELETE FROM public.learning_events
  WHERE id IN (SELECT id FROM public.learning_events WHERE ts < v_cutoff
               ORDER BY ts LIMIT p_max_rows);
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  DELETE FROM public.learning_candidate_user_days
  WHERE ctid IN (SELECT ctid FROM public.learning_candidate_user_days
                 WHERE day < (v_cutoff AT TIME ZONE 'UTC')::date LIMIT p_max_rows);
  GET DIAGNOSTICS v_days = ROW_COUNT;
  RETURN v_deleted + v_days;
END
$$;

-- ---------------------------------------------------------------- privileges
-- Service-side tables, like the other learning tables (0200): no grant to anon or authenticated.
GRANT ALL ON public.reward_ranges, public.surface_candidates, public.learning_candidate_user_days TO service_role;
REVOKE EXECUTE ON FUNCTION public.gc_learning_events(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.gc_learning_events(integer) TO service_role;
