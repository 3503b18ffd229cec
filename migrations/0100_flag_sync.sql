-- Flag sync bookkeeping (src/flags/sync.ts). The edge copy of each flag lives in KV FLAGS as the
-- plain JSON value (so `wrangler kv key put --binding FLAGS global.safe_mode '{"enabled":true}'`
-- stays a valid flip); everything the three-way merge needs lives here, never in the value.

-- One row per flag key: the merge base, i.e. the value Postgres and KV last agreed on.
CREATE TABLE IF NOT EXISTS public.feature_flag_sync (
  key            text PRIMARY KEY,
  -- Last synced value (NULL: never synced). A side whose value differs from it has changed.
  value          jsonb,
  -- Bumped whenever the base changes; written into the KV metadata of every value we put, so the
  -- sync can tell "KV still holds our older write" (stale, e.g. a lagging location) from
  -- "someone put a new value into KV" (no metadata, or our metadata with an older rev).
  rev            bigint NOT NULL DEFAULT 0 CHECK (rev >= 0),
  -- Path of the change that set the base: api, cli, sql, kv, alert, …
  source         text,
  synced_at      timestamptz NOT NULL DEFAULT now(),
  -- The last conflict resolved for this key (both sides changed since the base): who won and why.
  last_conflict  jsonb,
  -- Invalid values already reported, per side ({"sql": <value>}), so a value that stays invalid
  -- is logged every run but written to the ledger once.
  rejected       jsonb NOT NULL DEFAULT '{}'::jsonb
);

GRANT SELECT, INSERT, UPDATE, DELETE ON public.feature_flag_sync TO service_role;

-- Every change of a flag's value stamps updated_at and updated_by, whoever makes it. The guide's
-- §6 statements (`UPDATE … SET value = …` without updated_at) would otherwise leave updated_at at
-- the previous change, and the sync dates SQL changes by updated_at to resolve conflicts.
-- Our own writers name themselves in the transaction setting app.flag_writer ('api:service',
-- 'cli', 'kv', …); a plain SQL session gets 'sql:<role>' unless it set updated_by itself.
CREATE OR REPLACE FUNCTION public.feature_flags_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  writer text := nullif(current_setting('app.flag_writer', true), '');
BEGIN
  IF NEW.value IS DISTINCT FROM OLD.value THEN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
      NEW.updated_at := now();
    END IF;
    IF writer IS NOT NULL THEN
      NEW.updated_by := writer;
    ELSIF NEW.updated_by IS NOT DISTINCT FROM OLD.updated_by THEN
      NEW.updated_by := 'sql:' || session_user;
    END IF;
  END IF;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS feature_flags_stamp ON public.feature_flags;
CREATE TRIGGER feature_flags_stamp
  BEFORE UPDATE ON public.feature_flags
  FOR EACH ROW EXECUTE FUNCTION public.feature_flags_stamp();
