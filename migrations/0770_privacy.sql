-- A user's data on request (issue 22): erasure across every store, its tombstone, and which rank
-- context keys may be logged. Every statement is re-runnable.
--
-- Erasure, in order (src/privacy/erasure.ts drives it; an operator can run the SQL steps by hand):
--   1. begin_user_erasure(): tombstone + erasure record + ledger row, under an exclusive advisory
--      lock that the queue consumers' writes hold shared (erased_users_among), so once it commits
--      no consumer write for the user can land — in flight or later;
--   2. erase_user_rows(): delete the user's rows from every table of erasure_targets, and outbox /
--      dead-letter payloads that name the user; ledger rows naming the user are redacted;
--   3. (the Worker) KV documents and the RateLimiter object; then the record is completed and the
--      user id it held for those steps is cleared.
-- Nothing here stores the user id in clear beyond the pending erasure: the tombstone and the
-- record carry a keyed hash (erasure_subject) or the erasure id.

-- ---------------------------------------------------------------- subject hashes
-- One random key per database for erasure_subject(). Only the migration owner reads it (through
-- the SECURITY DEFINER functions below): a copy of the tombstones alone cannot be matched against
-- a list of user ids.
CREATE TABLE IF NOT EXISTS public.privacy_keys (
  id          boolean PRIMARY KEY DEFAULT true CHECK (id),
  subject_key bytea NOT NULL DEFAULT gen_random_bytes(32),
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.privacy_keys (id) VALUES (true) ON CONFLICT (id) DO NOTHING;
REVOKE ALL ON public.privacy_keys FROM PUBLIC, anon, authenticated, service_role;

-- HMAC-SHA256 of the user id (canonical lower-case text) under the database's key, hex.
CREATE OR REPLACE FUNCTION public.erasure_subject(p_user uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT encode(hmac(convert_to(p_user::text, 'UTF8'), k.subject_key, 'sha256'), 'hex')
  FROM public.privacy_keys k WHERE k.id
$$;

-- ---------------------------------------------------------------- erasure records and tombstones
-- One row per erasure: who asked, when, why, and when each store was done. No user data: the user
-- id is held only while the erasure is pending (the KV and limiter steps need it) and cleared when
-- it completes. Kept like the ledger (no retention): it is the record that the erasure happened.
CREATE TABLE IF NOT EXISTS public.user_erasures (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  requested_at  timestamptz NOT NULL DEFAULT now(),
  requested_by  text NOT NULL,
  reason        text NOT NULL,
  request_id    text,
  user_id       uuid,
  tombstone_at  timestamptz,
  postgres_at   timestamptz,
  kv_at         timestamptz,
  limiter_at    timestamptz,
  completed_at  timestamptz,
  deleted       jsonb NOT NULL DEFAULT '{}'::jsonb,
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT user_erasures_cleared_when_complete CHECK (completed_at IS NULL OR user_id IS NULL)
);
CREATE INDEX IF NOT EXISTS user_erasures_pending_idx ON public.user_erasures (requested_at) WHERE completed_at IS NULL;

-- Erased users by subject hash, for the retention window of learning data (retention_policies
-- 'erasure_tombstones', default the learning_events window): queue messages still in flight for
-- them, and any later write the consumers or the auth step would make, are dropped.
CREATE TABLE IF NOT EXISTS public.erasure_tombstones (
  subject_hash text PRIMARY KEY,
  erasure_id   uuid NOT NULL REFERENCES public.user_erasures(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS erasure_tombstones_created_idx ON public.erasure_tombstones (created_at);

DROP TRIGGER IF EXISTS user_erasures_touch ON public.user_erasures;
CREATE TRIGGER user_erasures_touch BEFORE UPDATE ON public.user_erasures
  FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

CREATE OR REPLACE FUNCTION public.user_erased(p_user uuid) RETURNS boolean
LANGUAGE sql STABLE
AS $$
  SELECT p_user IS NOT NULL
     AND EXISTS (SELECT 1 FROM public.erasure_tombstones t WHERE t.subject_hash = public.erasure_subject(p_user))
$$;

-- The consumers' check (learning impressions and rewards, in the same statement as their write):
-- which of these users are erased. It takes the erasure lock SHARED first and reads the tombstones
-- after it (a VOLATILE function's statements take a fresh snapshot), so a write either committed
-- before an erasure's begin_user_erasure took the lock (and its rows are deleted by the erasure)
-- or sees the tombstone.
CREATE OR REPLACE FUNCTION public.erased_users_among(p_users uuid[]) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp
AS $$
BEGIN
  IF p_users IS NULL OR cardinality(array_remove(p_users, NULL)) = 0 THEN
    RETURN '{}';
  END IF;
  PERFORM pg_advisory_xact_lock_shared(7245119770);
  RETURN coalesce((SELECT array_agg(DISTINCT u) FROM unnest(p_users) AS u WHERE public.user_erased(u)), '{}');
END
$$;

-- ---------------------------------------------------------------- what erasure covers
-- Every column that holds a user id, and how erasure reaches it. test/integration/erasure-coverage
-- scans the catalog (columns named user_id, or referencing auth.users) and fails when a table is
-- missing here: a new table with a user id must say how it is erased (add its row in its migration).
--   delete               erase_user_rows() deletes the rows (ascending erase_order)
--   clear_on_completion  the erasure's own working copy; set NULL when the erasure completes
CREATE TABLE IF NOT EXISTS public.erasure_targets (
  table_schema text NOT NULL,
  table_name   text NOT NULL,
  column_name  text NOT NULL,
  how          text NOT NULL DEFAULT 'delete' CHECK (how IN ('delete', 'clear_on_completion')),
  erase_order  integer NOT NULL DEFAULT 10,
  note         text,
  PRIMARY KEY (table_schema, table_name, column_name)
);
INSERT INTO public.erasure_targets (table_schema, table_name, column_name, how, erase_order, note) VALUES
  ('public', 'user_interests',              'user_id', 'delete', 10, 'interests; the delete marks the user dirty for hydrate-features'),
  ('public', 'intent_signals',              'user_id', 'delete', 10, 'signals with their free-form context'),
  ('public', 'learning_events',             'user_id', 'delete', 10, 'served slates with the logged context; rollups keep no user'),
  ('public', 'learning_rewards',            'user_id', 'delete', 10, 'rewards as received'),
  ('public', 'marketplace_discovery_queue', 'user_id', 'delete', 10, 'discovery jobs, live, done and dead'),
  ('public', 'rate_limits',                 'user_id', 'delete', 10, 'per-user limit overrides'),
  ('public', 'feature_dirty_users',         'user_id', 'delete', 80, 'after user_interests, whose trigger writes it'),
  ('auth',   'users',                       'id',      'delete', 90, 'the user row (email, claims) last'),
  ('public', 'user_erasures',               'user_id', 'clear_on_completion', 100, 'held while the KV and limiter steps are pending')
ON CONFLICT (table_schema, table_name, column_name) DO NOTHING;
-- Issue 12's per-user-day learning rows (migration 0700), where that migration ran before this one.
INSERT INTO public.erasure_targets (table_schema, table_name, column_name, how, erase_order, note)
SELECT 'public', 'learning_candidate_user_days', 'user_id', 'delete', 10, 'per-user-day bound of the shared learning statistics'
 WHERE to_regclass('public.learning_candidate_user_days') IS NOT NULL
ON CONFLICT (table_schema, table_name, column_name) DO NOTHING;

-- Erasure and export find a user's discovery jobs by user id (the table had no index leading
-- with it; the other paged tables have one).
CREATE INDEX IF NOT EXISTS marketplace_discovery_queue_user_idx ON public.marketplace_discovery_queue (user_id);

-- The exclusive side of the erasure lock, the tombstone, the record and the ledger row, in the
-- caller's transaction. Idempotent: while the user's tombstone lives, every request returns the
-- same erasure (created = false) and adds only a ledger row. The ledger names the erasure, never
-- the user.
CREATE OR REPLACE FUNCTION public.begin_user_erasure(p_user uuid, p_actor text, p_reason text, p_request_id text)
RETURNS TABLE (erasure_id uuid, created boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_subject text := public.erasure_subject(p_user);
  v_id uuid;
BEGIN
  IF p_user IS NULL OR v_subject IS NULL THEN
    RAISE EXCEPTION 'begin_user_erasure: no user id or no privacy key' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM set_config('lock_timeout', '10s', true);
  PERFORM pg_advisory_xact_lock(7245119770);
  SELECT t.erasure_id INTO v_id FROM public.erasure_tombstones t WHERE t.subject_hash = v_subject;
  created := NOT FOUND;
  IF created THEN
    INSERT INTO public.user_erasures (requested_by, reason, request_id, user_id, tombstone_at)
    VALUES (p_actor, p_reason, p_request_id, p_user, now())
    RETURNING id INTO v_id;
    INSERT INTO public.erasure_tombstones (subject_hash, erasure_id) VALUES (v_subject, v_id);
  END IF;
  INSERT INTO public.ai_action_ledger (actor, action, target, new_value, reason, request_id, metadata)
  VALUES (p_actor, 'user.erase', 'erasure:' || v_id, jsonb_build_object('erasure_id', v_id), p_reason, p_request_id,
          jsonb_build_object('repeat', NOT created));
  erasure_id := v_id;
  RETURN NEXT;
END
$$;

-- Delete the user's rows from every 'delete' target (and outbox / dead-letter payloads naming the
-- user), record the counts on the erasure, and return them ({"schema.table": rows}). Re-running it
-- deletes whatever arrived since (the counts add up).
CREATE OR REPLACE FUNCTION public.erase_user_rows(p_erasure uuid, p_user uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  t record;
  v_n bigint;
  v_out jsonb := '{}';
BEGIN
  IF p_user IS NULL THEN
    RAISE EXCEPTION 'erase_user_rows: no user id' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  FOR t IN SELECT * FROM public.erasure_targets WHERE how = 'delete' ORDER BY erase_order, table_schema, table_name, column_name LOOP
    EXECUTE format('DELETE FROM %I.%I WHERE %I = $1', t.table_schema, t.table_name, t.column_name) USING p_user;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_out := v_out || jsonb_build_object(t.table_schema || '.' || t.table_name, v_n);
  END LOOP;
  -- Outbox rows (discovery.user-signup names the user) and recorded dead letters (the message
  -- body): the id may sit at any depth, so match the payload's text. A scan of events_queue, which
  -- holds finished rows for 14 days and dead ones until purged; erasures are rare.
  DELETE FROM public.events_queue e WHERE lower(e.payload::text) LIKE '%' || p_user::text || '%';
  GET DIAGNOSTICS v_n = ROW_COUNT;
  v_out := v_out || jsonb_build_object('public.events_queue', v_n);
  -- The ledger is the record of what was done and stays, but not with the user in it: ledger rows
  -- naming the user (a per-user limit change recorded by a trigger, including the delete just
  -- above) get the id replaced by the erasure's. A scan of the ledger; erasures are rare.
  UPDATE public.ai_action_ledger l
     SET target    = regexp_replace(l.target, p_user::text, 'erased:' || coalesce(p_erasure::text, 'unknown'), 'gi'),
         old_value = regexp_replace(l.old_value::text, p_user::text, 'erased:' || coalesce(p_erasure::text, 'unknown'), 'gi')::jsonb,
         new_value = regexp_replace(l.new_value::text, p_user::text, 'erased:' || coalesce(p_erasure::text, 'unknown'), 'gi')::jsonb,
         reason    = regexp_replace(l.reason, p_user::text, 'erased:' || coalesce(p_erasure::text, 'unknown'), 'gi'),
         metadata  = regexp_replace(l.metadata::text, p_user::text, 'erased:' || coalesce(p_erasure::text, 'unknown'), 'gi')::jsonb
   WHERE lower(concat_ws(' ', l.target, l.old_value::text, l.new_value::text, l.reason, l.metadata::text)) LIKE '%' || p_user::text || '%';
  GET DIAGNOSTICS v_n = ROW_COUNT;
  v_out := v_out || jsonb_build_object('public.ai_action_ledger (redacted)', v_n);
  IF p_erasure IS NOT NULL THEN
    UPDATE public.user_erasures e
       SET postgres_at = now(),
           deleted = (SELECT coalesce(jsonb_object_agg(k, coalesce((e.deleted ->> k)::bigint, 0) + coalesce((v_out ->> k)::bigint, 0)), '{}')
                        FROM (SELECT jsonb_object_keys(e.deleted || v_out) AS k) keys)
     WHERE e.id = p_erasure;
  END IF;
  RETURN v_out;
END
$$;

-- Tombstones past their window (bounded, like every gc_* function).
CREATE OR REPLACE FUNCTION public.gc_erasure_tombstones(p_batch integer DEFAULT 5000) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
  SELECT public.gc_delete_expired('erasure_tombstones', 'created_at',
           public.retention_for('erasure_tombstones', public.retention_for('learning_events', interval '90 days')),
           'true', p_batch)
$$;

-- ---------------------------------------------------------------- logged rank context
-- Which top-level keys of a rank request's `context` reach learning_events, per surface ('*' is
-- the default for surfaces without a row). Other keys serve the request and are dropped in the
-- Worker before the event leaves it. Copied to KV LIMITS (context_keys:v1) every minute.
CREATE TABLE IF NOT EXISTS public.rank_context_policies (
  surface     text PRIMARY KEY CHECK (surface = '*' OR surface ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  logged_keys text[] NOT NULL DEFAULT '{}' CHECK (cardinality(logged_keys) <= 32),
  description text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text
);
DROP TRIGGER IF EXISTS rank_context_policies_touch ON public.rank_context_policies;
CREATE TRIGGER rank_context_policies_touch BEFORE UPDATE ON public.rank_context_policies
  FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

-- ---------------------------------------------------------------- privileges
GRANT ALL ON public.user_erasures, public.erasure_tombstones, public.erasure_targets, public.rank_context_policies TO service_role;
REVOKE EXECUTE ON FUNCTION public.erasure_subject(uuid), public.begin_user_erasure(uuid, text, text, text),
                           public.erase_user_rows(uuid, uuid), public.gc_erasure_tombstones(integer),
                           public.erased_users_among(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.erasure_subject(uuid), public.begin_user_erasure(uuid, text, text, text),
                          public.erase_user_rows(uuid, uuid), public.gc_erasure_tombstones(integer),
                          public.erased_users_among(uuid[]) TO service_role;
