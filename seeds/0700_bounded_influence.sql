-- Bounded influence (migration 0700): the default reward range for every surface without its own
-- row ('*' = [0, 1]) and the rate limit of POST /v1/rewards (route class 'reward', per user; the
-- same values as FALLBACK_LIMITS in src/ratelimit/config.ts).
-- DO NOTHING: a re-run never overwrites a range or a limit an operator has tuned since.
INSERT INTO public.reward_ranges (surface, min_reward, max_reward, updated_by) VALUES
  ('*', 0, 1, 'seed')
ON CONFLICT (surface) DO NOTHING;

INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES
  ('reward', NULL, 120, 60)
ON CONFLICT (route_class, user_id) DO NOTHING;
