-- Privacy defaults (issue 22). ON CONFLICT DO NOTHING: an operator's tuning is never overwritten.
-- Tombstones of erased users live as long as learning data (the learning_events window).
INSERT INTO public.retention_policies (table_name, retain, batch_size) VALUES
  ('erasure_tombstones', interval '90 days', 5000)
ON CONFLICT (table_name) DO NOTHING;

-- Rank context keys logged into learning_events: the default for every surface ('*'). Every other
-- key of a request's context serves that request only.
INSERT INTO public.rank_context_policies (surface, logged_keys, description, updated_by) VALUES
  ('*', '{locale,platform,app_version}', 'Default for surfaces without their own row', 'seed')
ON CONFLICT (surface) DO NOTHING;
