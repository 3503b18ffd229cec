-- Issue 18: the operator's trail and the database's defaults.
--   1. Catalog first: the database-level search_path of 0006 ("$user", public, pg_catalog) goes
--      back to the default. With public searched before pg_catalog, any object later created in
--      public under a catalog name (a function now(), a view pg_stat_activity) would silently
--      replace the built-in for every session, the Worker's included (the CVE-2018-1058 pattern).
--      The guide's §2A statement names columns pg_policies does not have (relname, polname); the
--      runbook and the smoke test use the corrected query. Its verbatim text still runs in a
--      session that opts in: SET search_path = guide_compat, pg_catalog, public; nothing else
--      resolves names through guide_compat.
--   2. Every flag change recorded when it happens: a trigger on feature_flags writes the ledger row
--      of any change made outside our own writers (who name themselves in app.flag_writer and write
--      their own rows), with the session's role and application_name. The per-minute sync no longer
--      records what the trigger already did (src/flags/sync.ts). Rate limits, which are changed in
--      SQL only, get the same trigger.
--   3. Routine job runs leave the ledger: public.job_runs holds one row per cron job run or
--      on-demand run, kept for retention_policies' window by gc_job_runs().

-- ------------------------------------------------------------------ 1. catalog first
CREATE SCHEMA IF NOT EXISTS guide_compat;
COMMENT ON SCHEMA guide_compat IS
  'Opt-in only (SET search_path = guide_compat, pg_catalog, public): lets the guide''s §2A text run verbatim. Never on a role''s or the database''s search_path.';

CREATE OR REPLACE VIEW guide_compat.pg_policies AS
SELECT p.schemaname, p.tablename, p.policyname, p.permissive, p.roles, p.cmd, p.qual, p.with_check,
       p.tablename AS relname, p.policyname AS polname
FROM pg_catalog.pg_policies p;

GRANT USAGE ON SCHEMA guide_compat TO anon, authenticated, service_role;
GRANT SELECT ON guide_compat.pg_policies TO anon, authenticated, service_role;

-- A view named like a catalog view has no place in public, even unreachable by default.
DROP VIEW IF EXISTS public.pg_policies;

DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I RESET search_path', current_database());
END
$$;

-- ------------------------------------------------------------------ 2. changes recorded by the database
-- "Latest flag.set row of this key" (src/flags/queries.ts) and per-target audits stay index scans.
CREATE INDEX IF NOT EXISTS ai_action_ledger_target_idx ON public.ai_action_ledger (target, id DESC);

-- Who made a change in SQL: the effective role (after SET ROLE), the login role, the client's
-- application_name, and the optional reason an operator gives with SET LOCAL app.reason = '…'.
CREATE OR REPLACE FUNCTION public.ledger_sql_session() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_build_object(
    'path', 'sql',
    'via', 'trigger',
    'role', current_user::text,
    'session_user', session_user::text,
    'application_name', nullif(current_setting('application_name', true), '')
  )
$$;

-- AFTER, so the row recorded is the row stored (feature_flags_stamp has set updated_by/at), and a
-- statement that fails leaves no ledger row. Value changes only: a description edit is not a flag
-- change. Invoker rights: whoever may change a flag may write the ledger (service_role, the owner).
CREATE OR REPLACE FUNCTION public.feature_flags_ledger() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_key text;
  v_old jsonb;
  v_new jsonb;
  v_meta jsonb := public.ledger_sql_session();
BEGIN
  -- Our own writers (setFlag, the sync, the pause switch) set app.flag_writer and record their own row.
  IF nullif(current_setting('app.flag_writer', true), '') IS NOT NULL THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    v_key := NEW.key; v_new := NEW.value;
    v_meta := v_meta || jsonb_build_object('updated_by', NEW.updated_by);
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.value IS NOT DISTINCT FROM OLD.value AND NEW.key = OLD.key THEN
      RETURN NULL;
    END IF;
    v_key := NEW.key; v_old := OLD.value; v_new := NEW.value;
    v_meta := v_meta || jsonb_build_object('updated_by', NEW.updated_by);
    IF NEW.key <> OLD.key THEN
      v_meta := v_meta || jsonb_build_object('renamed_from', OLD.key);
    END IF;
  ELSE
    v_key := OLD.key; v_old := OLD.value;
  END IF;
  INSERT INTO public.ai_action_ledger (actor, action, target, old_value, new_value, reason, metadata)
  VALUES ('sql', CASE WHEN TG_OP = 'DELETE' THEN 'flag.delete' ELSE 'flag.set' END, v_key, v_old, v_new,
          nullif(current_setting('app.reason', true), ''), v_meta);
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS feature_flags_ledger ON public.feature_flags;
CREATE TRIGGER feature_flags_ledger
  AFTER INSERT OR UPDATE OR DELETE ON public.feature_flags
  FOR EACH ROW EXECUTE FUNCTION public.feature_flags_ledger();

-- Rate limits have no writer in the code: every change is an operator's SQL, recorded here.
-- Target: rate_limits:<class> for a class default, rate_limits:<class>:<user id> for an override.
CREATE OR REPLACE FUNCTION public.rate_limits_ledger() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_old jsonb;
  v_new jsonb;
  v_row public.rate_limits;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    v_old := jsonb_build_object('route_class', OLD.route_class, 'user_id', OLD.user_id,
                                'max_requests', OLD.max_requests, 'window_seconds', OLD.window_seconds);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    v_new := jsonb_build_object('route_class', NEW.route_class, 'user_id', NEW.user_id,
                                'max_requests', NEW.max_requests, 'window_seconds', NEW.window_seconds);
  END IF;
  IF v_old IS NOT DISTINCT FROM v_new THEN
    RETURN NULL; -- only updated_at moved
  END IF;
  v_row := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  INSERT INTO public.ai_action_ledger (actor, action, target, old_value, new_value, reason, metadata)
  VALUES ('sql', CASE WHEN TG_OP = 'DELETE' THEN 'rate_limit.delete' ELSE 'rate_limit.set' END,
          'rate_limits:' || v_row.route_class || coalesce(':' || v_row.user_id::text, ''),
          v_old, v_new, nullif(current_setting('app.reason', true), ''), public.ledger_sql_session());
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS rate_limits_ledger ON public.rate_limits;
CREATE TRIGGER rate_limits_ledger
  AFTER INSERT OR UPDATE OR DELETE ON public.rate_limits
  FOR EACH ROW EXECUTE FUNCTION public.rate_limits_ledger();

-- ------------------------------------------------------------------ 3. job runs
-- One row per job run: every cron job (ok, failed or skipped while paused) and every on-demand
-- run through an API route. The outcome of routine work; the ledger keeps decisions and changes.
CREATE TABLE IF NOT EXISTS public.job_runs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job           text NOT NULL,
  -- cron: a Cron Trigger ran it; api: someone asked for it (POST /admin/policy/rollup, …).
  trigger       text NOT NULL CHECK (trigger IN ('cron', 'api')),
  -- The cron expression (cron runs) or the route (api runs).
  source        text NOT NULL,
  -- 'cron' or who asked: 'api:service', 'cli', the x-actor header.
  actor         text NOT NULL,
  status        text NOT NULL CHECK (status IN ('ok', 'failed', 'paused')),
  -- controller.scheduledTime of a cron run (when it was due); NULL for api runs.
  scheduled_at  timestamptz,
  started_at    timestamptz NOT NULL,
  duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
  -- The job's own summary (its job.done log fields): counts, changed keys…
  result        jsonb NOT NULL DEFAULT '{}'::jsonb,
  error         text,
  -- The cron invocation's or the request's id (the request_id of its log lines).
  request_id    text NOT NULL
);
CREATE INDEX IF NOT EXISTS job_runs_started_at_idx ON public.job_runs (started_at);
CREATE INDEX IF NOT EXISTS job_runs_job_idx ON public.job_runs (job, started_at DESC);
GRANT SELECT, INSERT, DELETE ON public.job_runs TO service_role;

CREATE OR REPLACE FUNCTION public.gc_job_runs(p_batch integer DEFAULT 5000) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT public.gc_delete_expired('job_runs', 'started_at', public.retention_for('job_runs', interval '14 days'), 'true', p_batch)
$$;
REVOKE EXECUTE ON FUNCTION public.gc_job_runs(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.gc_job_runs(integer) TO service_role;
