-- Issue 20: alerts that neither flap nor go green when their telemetry dies.
--   clear_for_seconds        a firing alert resolves only after its condition has been clear
--                            (measured and within the threshold) this long; default 5 minutes.
--   no_data_seconds          a rule that has measured nothing for this long raises a
--                            metrics_stale page (NULL: the rule is not watched for blindness).
--   action_subjects          the subjects the rule's action may act on (NULL: any subject). The
--                            seeded slo_burn_rate rule turns safe mode on only for the ranking path.
--   action_cooldown_seconds  after a human turned safe mode off, automatic safe-mode actions wait
--                            this long (the skip is recorded in the ledger with the reason).
-- alerts.clear_since: when the condition of a firing alert was first seen clear (NULL: breached or
-- no data at the last evaluation). alert_rule_data: when each rule last measured anything.
-- Statements are re-runnable.

ALTER TABLE public.alert_rules
  ADD COLUMN IF NOT EXISTS clear_for_seconds integer NOT NULL DEFAULT 300 CHECK (clear_for_seconds >= 0),
  ADD COLUMN IF NOT EXISTS no_data_seconds integer CHECK (no_data_seconds > 0),
  ADD COLUMN IF NOT EXISTS action_subjects text[],
  ADD COLUMN IF NOT EXISTS action_cooldown_seconds integer NOT NULL DEFAULT 1800 CHECK (action_cooldown_seconds >= 0);

ALTER TABLE public.alerts ADD COLUMN IF NOT EXISTS clear_since timestamptz;

CREATE TABLE IF NOT EXISTS public.alert_rule_data (
  rule_id        text PRIMARY KEY REFERENCES public.alert_rules(id) ON DELETE CASCADE,
  -- First evaluation that watched the rule: "no data since" for a rule that never had any.
  watched_since  timestamptz NOT NULL,
  -- Last evaluation whose measurement had a value for the rule's subject(s).
  last_data_at   timestamptz
);
GRANT ALL ON public.alert_rule_data TO service_role;

-- Seconds since each job's last successful run (public.job_runs, written by every cron
-- invocation), and how long that job may go without one: its cron's period × 3 (+ 2 minutes for
-- the per-minute jobs), so one missed or failed run is not a page and three are.
CREATE OR REPLACE FUNCTION public.cron_heartbeats_at(p_at timestamptz)
RETURNS TABLE (job text, last_ok timestamptz, age_sec double precision, allowed_sec double precision)
LANGUAGE sql STABLE SET search_path = public, pg_temp
AS $$
  SELECT j.job, max(j.started_at) FILTER (WHERE j.status IN ('ok', 'paused')) AS last_ok,
         extract(epoch FROM p_at - coalesce(max(j.started_at) FILTER (WHERE j.status IN ('ok', 'paused')), min(j.started_at)))::float8,
         CASE max(j.source) WHEN '* * * * *' THEN 300 WHEN '*/5 * * * *' THEN 900 ELSE 3 * 86400 END::float8
  FROM public.job_runs j
  WHERE j.trigger = 'cron' AND j.started_at <= p_at AND j.started_at > p_at - interval '14 days'
  GROUP BY j.job
$$;
GRANT EXECUTE ON FUNCTION public.cron_heartbeats_at(timestamptz) TO service_role;
