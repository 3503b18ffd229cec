-- Alert rules (the guide's §4 thresholds, evaluated every minute by the cron) and the alerts
-- history: one row per episode, pending → firing → resolved (or pending → cancelled when the
-- condition clears before its `for` duration). Statements are re-runnable.

CREATE TABLE IF NOT EXISTS public.alert_rules (
  id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9_.-]{1,64}$'),
  description     text NOT NULL,
  -- What is measured (src/alerts/metrics.ts maps each name to one query over views/rollups).
  metric          text NOT NULL,
  -- Only this subject (operation, policy, queue…); NULL = every subject the metric reports.
  subject         text,
  comparator      text NOT NULL DEFAULT '>' CHECK (comparator IN ('>', '>=', '<', '<=')),
  threshold       double precision NOT NULL,
  -- The condition must hold this long (consecutive evaluations) before the alert fires.
  for_seconds     integer NOT NULL DEFAULT 300 CHECK (for_seconds >= 0),
  -- Subjects with fewer samples (requests, impressions, jobs) are not judged: no noise at low traffic.
  min_samples     bigint NOT NULL DEFAULT 0 CHECK (min_samples >= 0),
  severity        text NOT NULL DEFAULT 'ticket' CHECK (severity IN ('page', 'ticket', 'info')),
  -- 'notify': log line + webhook. 'safe_mode': also turn global.safe_mode on when it fires.
  action          text NOT NULL DEFAULT 'notify' CHECK (action IN ('notify', 'safe_mode')),
  -- What a human should do (the guide's "Action" column); shown in notifications and the dashboard.
  runbook         text,
  enabled         boolean NOT NULL DEFAULT true,
  -- Until then transitions are still recorded but not notified (no log warning, no webhook).
  silenced_until  timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  updated_by      text
);

CREATE TABLE IF NOT EXISTS public.alerts (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id            text NOT NULL REFERENCES public.alert_rules(id) ON DELETE CASCADE,
  subject            text NOT NULL,
  state              text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved', 'cancelled')),
  severity           text NOT NULL,
  threshold          double precision NOT NULL,
  -- The measured value at the start, at firing, and the latest one.
  first_value        double precision,
  fired_value        double precision,
  last_value         double precision,
  pending_since      timestamptz NOT NULL,
  fired_at           timestamptz,
  resolved_at        timestamptz,
  last_evaluated_at  timestamptz NOT NULL,
  -- Outcome of the rule's action ('safe_mode_on', 'already_on', 'failed: …'); NULL = none yet.
  action_result      text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- At most one open episode per rule and subject: concurrent evaluations cannot duplicate it.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open_uniq ON public.alerts (rule_id, subject)
  WHERE state IN ('pending', 'firing');
CREATE INDEX IF NOT EXISTS alerts_created_idx ON public.alerts (created_at DESC);

-- Open alerts, firing first, with what to do about them.
DROP VIEW IF EXISTS public.vw_alerts_active;
CREATE VIEW public.vw_alerts_active AS
SELECT a.id, a.rule_id, r.description, a.subject, a.state, a.severity, r.metric, r.comparator,
       a.threshold, a.last_value, a.pending_since, a.fired_at, a.last_evaluated_at,
       r.action, a.action_result, r.runbook,
       (r.silenced_until IS NOT NULL AND r.silenced_until > now()) AS silenced
FROM public.alerts a
JOIN public.alert_rules r ON r.id = a.rule_id
WHERE a.state IN ('pending', 'firing')
ORDER BY (a.state = 'firing') DESC, (a.severity = 'page') DESC, a.pending_since;

GRANT ALL ON public.alert_rules, public.alerts TO service_role;

-- ---------------------------------------------------------------- retention
-- Windows come from retention_policies (seeds/0500); the defaults below apply when a row is missing.
-- Delete up to p_batch expired rows from each metrics/alerts table; returns how many went.
-- Closed alert episodes only: open ones are never deleted.
CREATE OR REPLACE FUNCTION public.gc_metrics(p_batch integer DEFAULT 5000) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  v_total bigint := 0;
  v_n bigint;
  v_keep interval;
  t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES
      ('request_metrics_minute', 'minute',      interval '35 days',  'true'),
      ('gauge_metrics_minute',   'minute',      interval '35 days',  'true'),
      ('metrics_ingest_ledger',  'received_at', interval '8 days',   'true'),
      ('alerts',                 'created_at',  interval '180 days', $c$state IN ('resolved', 'cancelled')$c$)
    ) AS v(tbl, col, fallback, extra)
  LOOP
    SELECT retain INTO v_keep FROM public.retention_policies WHERE table_name = t.tbl;
    EXECUTE format('DELETE FROM public.%1$I WHERE ctid IN (SELECT ctid FROM public.%1$I WHERE %2$I < now() - $1 AND %3$s LIMIT $2)',
                   t.tbl, t.col, t.extra)
      USING coalesce(v_keep, t.fallback), p_batch;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_total := v_total + v_n;
  END LOOP;
  RETURN v_total;
END
$$;

REVOKE EXECUTE ON FUNCTION public.gc_metrics(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.gc_metrics(integer) TO service_role;
