-- Default rate limits per route class (user_id NULL = the class default). Route classes are
-- decided by path in src/lib/route-policy.ts: anon (per client IP), user (per user), admin_read,
-- admin_write and job (per service role). Per-user overrides are rows with user_id set.
-- DO NOTHING: a re-run never overwrites a limit an operator has tuned since.
INSERT INTO public.rate_limits (route_class, user_id, max_requests, window_seconds) VALUES
  ('anon',        NULL,  300, 60),
  ('user',        NULL,  600, 60),
  ('admin_read',  NULL, 6000, 60),
  ('admin_write', NULL,  300, 60),
  ('job',         NULL,  120, 60)
ON CONFLICT (route_class, user_id) DO NOTHING;
