-- The guide's test user (§2E), retention windows and SLO targets.
INSERT INTO auth.users (id, email) VALUES
  ('00000000-0000-0000-0000-000000000001', 'test-user@example.com')
ON CONFLICT (id) DO NOTHING;

INSERT INTO public.retention_policies (table_name, retain, batch_size) VALUES
  ('learning_events', interval '90 days', 5000),
  ('intent_signals',  interval '30 days', 5000)
ON CONFLICT (table_name) DO NOTHING;

INSERT INTO public.slo_targets (operation, latency_p95_ms, availability_target, description) VALUES
  ('auth.login', 600, 0.999, 'Token verification and user upsert (guide §4: p95 > 600 ms alerts)')
ON CONFLICT (operation) DO NOTHING;

-- Finished queue work (status 'done'); dead rows stay until redriven or purged (gc_queue_done).
INSERT INTO public.retention_policies (table_name, retain, batch_size) VALUES
  ('marketplace_discovery_queue', interval '14 days', 5000),
  ('events_queue',                interval '14 days', 5000)
ON CONFLICT (table_name) DO NOTHING;
