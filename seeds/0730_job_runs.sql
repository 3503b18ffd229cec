-- Retention of public.job_runs (migration 0730): one row per cron job run, about 7,800 a day with
-- the schedules of src/jobs.ts. DO NOTHING: an operator's tuning is never overwritten.
INSERT INTO public.retention_policies (table_name, retain, batch_size) VALUES
  ('job_runs', interval '14 days', 5000)
ON CONFLICT (table_name) DO NOTHING;
