-- The learning loop: what off-policy evaluation needs on each learning event, rewards that may
-- arrive before their impression, incremental rollups, and vw_policy_health read from them.
-- Every statement is re-runnable.

-- ---------------------------------------------------------------- learning_events, extended
-- ins_xid: the inserting transaction. The rollup consumes rows below the oldest running
-- transaction (pg_snapshot_xmin), so a slow transaction committing late is never skipped — a
-- plain id high-water mark would skip ids that commit out of order.
ALTER TABLE public.learning_events
  ADD COLUMN IF NOT EXISTS ins_xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
  ADD COLUMN IF NOT EXISTS n_remaining   integer CHECK (n_remaining > 0),
  ADD COLUMN IF NOT EXISTS is_greedy     boolean,
  ADD COLUMN IF NOT EXISTS p_prefix      double precision CHECK (p_prefix >= 0 AND p_prefix <= 1),
  ADD COLUMN IF NOT EXISTS greedy_prefix boolean,
  ADD COLUMN IF NOT EXISTS q_greedy      double precision,
  ADD COLUMN IF NOT EXISTS q_mean        double precision;
CREATE INDEX IF NOT EXISTS learning_events_ins_xid_idx ON public.learning_events (ins_xid);

-- Weight of the greedy policy for one logged item: 1/P(logged prefix) when every position up to
-- it was the greedy choice, else 0; NULL without a propensity (safe mode, p_exp = 0).
-- Rows without the ranker's columns (a direct SQL insert, guide §2H) count as one-slot decisions:
-- not explored = the greedy choice, p_exp = its propensity.
CREATE OR REPLACE FUNCTION public.learning_greedy_weight(
  p_prefix double precision, greedy_prefix boolean, p_exp double precision, explored boolean
) RETURNS double precision
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE
    WHEN p_prefix IS NOT NULL THEN CASE WHEN p_prefix <= 0 THEN NULL WHEN greedy_prefix THEN 1 / p_prefix ELSE 0 END
    WHEN p_exp > 0 THEN CASE WHEN explored THEN 0 ELSE 1 / p_exp END
  END
$$;

-- ---------------------------------------------------------------- rewards
-- Every reward as received (POST /v1/rewards → queue). The first reward for an item wins; a
-- reward whose impression has not landed yet waits here (applied_at NULL) and is merged when the
-- impression is inserted, or by the rollup cron's sweep if the two raced.
CREATE TABLE IF NOT EXISTS public.learning_rewards (
  decision_id  uuid NOT NULL,
  candidate_id text NOT NULL,
  user_id      uuid NOT NULL,
  reward       double precision NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  applied_at   timestamptz,
  PRIMARY KEY (decision_id, candidate_id, user_id)
);
CREATE INDEX IF NOT EXISTS learning_rewards_pending_idx
  ON public.learning_rewards (received_at) WHERE applied_at IS NULL;
CREATE INDEX IF NOT EXISTS learning_rewards_applied_idx
  ON public.learning_rewards (applied_at) WHERE applied_at IS NOT NULL;

-- Reward changes on learning_events, written by trigger, consumed (deleted) by the rollup.
-- Rewards reach learning_events at insert (heartbeat, merged pending reward) or by UPDATE
-- (reward consumer, sweep, an operator); either way they flow to the rollups exactly once here.
CREATE TABLE IF NOT EXISTS public.learning_reward_deltas (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id     bigint NOT NULL,
  policy       text NOT NULL,
  surface      text NOT NULL,
  candidate_id text NOT NULL,
  ts           timestamptz NOT NULL,
  w_greedy     double precision,
  d_reward     double precision NOT NULL,
  d_count      integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION public.learning_events_reward_delta() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  INSERT INTO public.learning_reward_deltas (event_id, policy, surface, candidate_id, ts, w_greedy, d_reward, d_count)
  VALUES (NEW.id, NEW.policy, NEW.surface, NEW.candidate_id, NEW.ts,
          public.learning_greedy_weight(NEW.p_prefix, NEW.greedy_prefix, NEW.p_exp, NEW.explored),
          coalesce(NEW.reward, 0) - CASE WHEN TG_OP = 'UPDATE' THEN coalesce(OLD.reward, 0) ELSE 0 END,
          (NEW.reward IS NOT NULL)::int - CASE WHEN TG_OP = 'UPDATE' THEN (OLD.reward IS NOT NULL)::int ELSE 0 END);
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS learning_events_reward_insert ON public.learning_events;
CREATE TRIGGER learning_events_reward_insert AFTER INSERT ON public.learning_events
  FOR EACH ROW WHEN (NEW.reward IS NOT NULL) EXECUTE FUNCTION public.learning_events_reward_delta();
DROP TRIGGER IF EXISTS learning_events_reward_update ON public.learning_events;
CREATE TRIGGER learning_events_reward_update AFTER UPDATE OF reward ON public.learning_events
  FOR EACH ROW WHEN (OLD.reward IS DISTINCT FROM NEW.reward) EXECUTE FUNCTION public.learning_events_reward_delta();

-- ---------------------------------------------------------------- rollups
CREATE TABLE IF NOT EXISTS public.learning_rollup_state (
  name            text PRIMARY KEY,
  watermark       xid8 NOT NULL DEFAULT '0',
  events_rolled   bigint NOT NULL DEFAULT 0,
  rewards_rolled  bigint NOT NULL DEFAULT 0,
  last_run_at     timestamptz
);
INSERT INTO public.learning_rollup_state (name) VALUES ('learning') ON CONFLICT (name) DO NOTHING;

-- Per policy, surface and UTC day of the event: volumes, exploration, propensities, rewards and
-- the sufficient statistics of the greedy policy's IPS/SNIPS (w = greedy weight, wr = w·reward).
CREATE TABLE IF NOT EXISTS public.learning_policy_daily (
  policy        text NOT NULL,
  surface       text NOT NULL,
  day           date NOT NULL,
  decisions     bigint NOT NULL DEFAULT 0,
  impressions   bigint NOT NULL DEFAULT 0,
  explored      bigint NOT NULL DEFAULT 0,
  p_exp_sum     double precision NOT NULL DEFAULT 0,
  rewarded      bigint NOT NULL DEFAULT 0,
  reward_sum    double precision NOT NULL DEFAULT 0,
  w_n           bigint NOT NULL DEFAULT 0,
  w_sum         double precision NOT NULL DEFAULT 0,
  w_sq_sum      double precision NOT NULL DEFAULT 0,
  wr_sum        double precision NOT NULL DEFAULT 0,
  last_event_at timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (policy, surface, day)
);
CREATE INDEX IF NOT EXISTS learning_policy_daily_day_idx ON public.learning_policy_daily (day);

-- Per surface and candidate: the learned reward estimate's inputs (read by hydrate-features).
CREATE TABLE IF NOT EXISTS public.learning_candidate_stats (
  surface       text NOT NULL,
  candidate_id  text NOT NULL,
  impressions   bigint NOT NULL DEFAULT 0,
  explored      bigint NOT NULL DEFAULT 0,
  rewarded      bigint NOT NULL DEFAULT 0,
  reward_sum    double precision NOT NULL DEFAULT 0,
  first_seen_at timestamptz NOT NULL,
  last_event_at timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (surface, candidate_id)
);
CREATE INDEX IF NOT EXISTS learning_candidate_stats_recent_idx
  ON public.learning_candidate_stats (surface, last_event_at DESC);

-- ---------------------------------------------------------------- feature hydration
-- Users whose interests changed since hydrate-features last wrote them to KV (any write path:
-- the API, the guide's SQL, a cascade). hydrate-features drains it.
CREATE TABLE IF NOT EXISTS public.feature_dirty_users (
  user_id   uuid PRIMARY KEY,
  marked_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION public.mark_feature_dirty_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  INSERT INTO public.feature_dirty_users (user_id)
  VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END)
  ON CONFLICT (user_id) DO UPDATE SET marked_at = now();
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS user_interests_feature_dirty ON public.user_interests;
CREATE TRIGGER user_interests_feature_dirty AFTER INSERT OR UPDATE OR DELETE ON public.user_interests
  FOR EACH ROW EXECUTE FUNCTION public.mark_feature_dirty_user();

-- Users who had interests before this migration get hydrated once.
INSERT INTO public.feature_dirty_users (user_id)
SELECT DISTINCT user_id FROM public.user_interests
ON CONFLICT (user_id) DO NOTHING;

-- ---------------------------------------------------------------- privileges
GRANT ALL ON public.learning_rewards, public.learning_reward_deltas, public.learning_rollup_state,
             public.learning_policy_daily, public.learning_candidate_stats, public.feature_dirty_users
  TO service_role;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO service_role;
REVOKE EXECUTE ON FUNCTION public.learning_events_reward_delta(), public.mark_feature_dirty_user() FROM PUBLIC;

-- ---------------------------------------------------------------- vw_policy_health
-- Per logged policy. Reads the daily rollups (within the learning_events retention window) plus
-- the rows the rollup has not consumed yet: events above the watermark (an index range scan) and
-- pending reward deltas. So it is exact at any moment — the guide's §2H heartbeat shows at once —
-- and never scans learning_events as a whole once the rollup cron runs.
--   exploration_rate  explored / impressions; epsilon: the ranker.policy flag's, for its version
--   mean_reward       over rewarded impressions; reward_per_impression counts unrewarded as 0
--   ips_greedy, snips_greedy  the greedy policy's reward per impression (IPS and self-normalised)
--   ess_greedy        effective sample size of the greedy weights, (Σw)² / Σw²
DROP VIEW IF EXISTS public.vw_policy_health;
CREATE VIEW public.vw_policy_health AS
WITH parts AS (
  SELECT d.policy, d.decisions, d.impressions, d.explored, d.p_exp_sum, d.rewarded, d.reward_sum,
         d.w_n, d.w_sum, d.w_sq_sum, d.wr_sum, d.last_event_at
  FROM public.learning_policy_daily d
  WHERE d.day >= ((now() - public.retention_for('learning_events', interval '90 days')) AT TIME ZONE 'UTC')::date
  UNION ALL
  SELECT t.policy, t.is_decision::int, 1, t.explored::int, t.p_exp, 0, 0,
         (t.w IS NOT NULL)::int, coalesce(t.w, 0), coalesce(t.w * t.w, 0), 0, t.ts
  FROM (
    SELECT le.policy, (le.decision_id IS NULL OR le.position = 0) AS is_decision, le.explored, le.p_exp, le.ts,
           public.learning_greedy_weight(le.p_prefix, le.greedy_prefix, le.p_exp, le.explored) AS w
    FROM public.learning_events le
    WHERE le.ins_xid >= coalesce((SELECT s.watermark FROM public.learning_rollup_state s WHERE s.name = 'learning'), '0'::xid8)
  ) t
  UNION ALL
  SELECT r.policy, 0, 0, 0, 0, r.d_count, r.d_reward, 0, 0, 0, coalesce(r.w_greedy * r.d_reward, 0), NULL
  FROM public.learning_reward_deltas r
)
SELECT p.policy,
       sum(p.decisions)::bigint AS decisions,
       sum(p.impressions)::bigint AS impressions,
       round((sum(p.explored) / nullif(sum(p.impressions), 0))::numeric, 4) AS exploration_rate,
       (SELECT (f.value ->> 'epsilon')::numeric FROM public.feature_flags f
         WHERE f.key = 'ranker.policy' AND f.value ->> 'version' = p.policy) AS epsilon,
       sum(p.rewarded)::bigint AS rewarded,
       round((sum(p.reward_sum) / nullif(sum(p.rewarded), 0))::numeric, 4) AS mean_reward,
       round((sum(p.reward_sum) / nullif(sum(p.impressions), 0))::numeric, 4) AS reward_per_impression,
       round((sum(p.p_exp_sum) / nullif(sum(p.impressions), 0))::numeric, 4) AS mean_p_exp,
       round((sum(p.wr_sum) / nullif(sum(p.w_n), 0))::numeric, 4) AS ips_greedy,
       round((sum(p.wr_sum) / nullif(sum(p.w_sum), 0))::numeric, 4) AS snips_greedy,
       round((sum(p.w_sum) ^ 2 / nullif(sum(p.w_sq_sum), 0))::numeric, 1) AS ess_greedy,
       max(p.last_event_at) AS last_event_at
FROM parts p
GROUP BY p.policy;
