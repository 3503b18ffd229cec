-- The guide's functions. All are real implementations, re-runnable (CREATE OR REPLACE).

-- Keep updated_at honest however a row is changed (the guide's UPDATEs do not always set it).
CREATE OR REPLACE FUNCTION public.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['user_interests', 'marketplace_discovery_queue', 'events_queue',
                           'marketplace_candidates', 'marketplace_gaps', 'rate_limits',
                           'retention_policies', 'slo_targets']
  LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON public.%I', t || '_touch', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON public.%I FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at()',
                   t || '_touch', t);
  END LOOP;
END
$$;

-- Map an interest to a marketplace category and return the category id.
-- Uses the heaviest existing mapping; otherwise a category of the same name; otherwise creates one.
CREATE OR REPLACE FUNCTION public.ensure_category_for_interest(p_interest_id uuid) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_name text;
  v_category uuid;
BEGIN
  SELECT name INTO v_name FROM public.interest_catalog WHERE id = p_interest_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown interest %', p_interest_id USING ERRCODE = 'foreign_key_violation';
  END IF;

  SELECT category_id INTO v_category
  FROM public.marketplace_interest_map
  WHERE interest_id = p_interest_id
  ORDER BY weight DESC, category_id
  LIMIT 1;
  IF FOUND THEN
    RETURN v_category;
  END IF;

  INSERT INTO public.marketplace_categories (name) VALUES (v_name)
  ON CONFLICT (name) DO NOTHING;
  SELECT id INTO v_category FROM public.marketplace_categories WHERE name = v_name;

  INSERT INTO public.marketplace_interest_map (interest_id, category_id) VALUES (p_interest_id, v_category)
  ON CONFLICT DO NOTHING;
  RETURN v_category;
END
$$;

-- Queue one discovery job per interest of the user that has no live (queued/processing) job,
-- and write one outbox row (topic discovery.user-signup) in the same transaction.
-- Returns the number of jobs queued. A user may only enqueue for themselves.
CREATE OR REPLACE FUNCTION public.enqueue_discovery_for_user(p_user_id uuid) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_ids uuid[];
  v_interests uuid[];
BEGIN
  IF auth.uid() IS NOT NULL AND auth.uid() IS DISTINCT FROM p_user_id THEN
    RAISE EXCEPTION 'cannot enqueue discovery for another user' USING ERRCODE = 'insufficient_privilege';
  END IF;

  WITH inserted AS (
    INSERT INTO public.marketplace_discovery_queue (user_id, interest_id, topic)
    SELECT ui.user_id, ui.interest_id, 'discovery.user-signup'
    FROM public.user_interests ui
    WHERE ui.user_id = p_user_id
    ORDER BY ui.affinity DESC, ui.interest_id
    ON CONFLICT (user_id, interest_id) WHERE status IN ('queued', 'processing') DO NOTHING
    RETURNING id, interest_id
  )
  SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(interest_id ORDER BY id), '{}')
  INTO v_ids, v_interests
  FROM inserted;

  IF cardinality(v_ids) > 0 THEN
    INSERT INTO public.events_queue (topic, payload)
    VALUES ('discovery.user-signup',
            jsonb_build_object('user_id', p_user_id, 'job_ids', to_jsonb(v_ids),
                               'interest_ids', to_jsonb(v_interests)));
  END IF;
  RETURN cardinality(v_ids);
END
$$;

-- Up to p_limit active candidates from the categories mapped to the user's interests, ordered by
-- affinity × mapping weight × candidate score (best path per candidate), ties broken by id.
-- SECURITY INVOKER: called as `authenticated`, RLS limits user_interests to the caller's rows.
CREATE OR REPLACE FUNCTION public.marketplace_suggestions_for_user(p_user_id uuid, p_limit integer DEFAULT 12)
RETURNS TABLE (
  candidate_id   uuid,
  title          text,
  url            text,
  category_id    uuid,
  category_name  text,
  interest_id    uuid,
  interest_name  text,
  affinity       real,
  candidate_score double precision,
  score          double precision
)
LANGUAGE sql STABLE
AS $$
  WITH paths AS (
    SELECT DISTINCT ON (c.id)
           c.id AS candidate_id, c.title, c.url, c.category_id, mc.name AS category_name,
           ui.interest_id, ic.name AS interest_name, ui.affinity, c.score AS candidate_score,
           (ui.affinity * m.weight * c.score)::double precision AS score
    FROM public.user_interests ui
    JOIN public.interest_catalog ic ON ic.id = ui.interest_id
    JOIN public.marketplace_interest_map m ON m.interest_id = ui.interest_id
    JOIN public.marketplace_categories mc ON mc.id = m.category_id
    JOIN public.marketplace_candidates c ON c.category_id = m.category_id AND c.active
    WHERE ui.user_id = p_user_id
    ORDER BY c.id, (ui.affinity * m.weight * c.score) DESC, ui.interest_id
  )
  SELECT candidate_id, title, url, category_id, category_name, interest_id, interest_name,
         affinity, candidate_score, score
  FROM paths
  ORDER BY score DESC, candidate_id
  LIMIT greatest(coalesce(p_limit, 12), 0)
$$;

-- Retention window of a table (retention_policies), with a safe default when unset.
CREATE OR REPLACE FUNCTION public.retention_for(p_table text, p_default interval) RETURNS interval
LANGUAGE sql STABLE
AS $$
  SELECT coalesce((SELECT retain FROM public.retention_policies WHERE table_name = p_table), p_default)
$$;

-- Delete learning events older than the retention window. p_max_rows bounds one call (NULL:
-- everything due); the nightly cron calls it in batches so no lock is held for long.
CREATE OR REPLACE FUNCTION public.gc_learning_events(p_max_rows integer DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_cutoff timestamptz := now() - public.retention_for('learning_events', interval '90 days');
  v_deleted bigint;
BEGIN
  DELETE FROM public.learning_events
  WHERE id IN (SELECT id FROM public.learning_events WHERE ts < v_cutoff
               ORDER BY ts LIMIT p_max_rows);
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN v_deleted;
END
$$;

CREATE OR REPLACE FUNCTION public.gc_intent_signals(p_max_rows integer DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
DECLARE
  v_cutoff timestamptz := now() - public.retention_for('intent_signals', interval '30 days');
  v_deleted bigint;
BEGIN
  DELETE FROM public.intent_signals
  WHERE id IN (SELECT id FROM public.intent_signals WHERE created_at < v_cutoff
               ORDER BY created_at LIMIT p_max_rows);
  GET DIAGNOSTICS v_deleted = ROW_COUNT;
  RETURN v_deleted;
END
$$;

-- Latency histogram buckets (shared with src/observability/histogram.ts):
-- bucket 0 holds < 1 ms; bucket i >= 1 holds [2^((i-1)/4), 2^(i/4)) ms; the last bucket is open.
CREATE OR REPLACE FUNCTION public.histogram_bucket_upper_ms(p_index integer) RETURNS double precision
LANGUAGE sql IMMUTABLE
AS $$ SELECT power(2::double precision, p_index / 4.0) $$;

-- The q-quantile (0..1) of a histogram, as the upper bound of the bucket that contains it.
CREATE OR REPLACE FUNCTION public.histogram_quantile(p_buckets bigint[], p_q double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  v_total numeric := 0;
  v_seen numeric := 0;
  v_rank numeric;
  i integer;
BEGIN
  IF p_buckets IS NULL OR cardinality(p_buckets) = 0 THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(sum(b), 0) INTO v_total FROM unnest(p_buckets) AS b;
  IF v_total = 0 THEN
    RETURN NULL;
  END IF;
  v_rank := greatest(ceil(p_q * v_total), 1);
  FOR i IN 1 .. cardinality(p_buckets) LOOP
    v_seen := v_seen + coalesce(p_buckets[i], 0);
    IF v_seen >= v_rank THEN
      RETURN public.histogram_bucket_upper_ms(i - 1);
    END IF;
  END LOOP;
  RETURN public.histogram_bucket_upper_ms(cardinality(p_buckets) - 1);
END
$$;

-- Element-wise sum of histograms (aggregate), for rolling minutes up into windows.
CREATE OR REPLACE FUNCTION public.histogram_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE
AS $$
  SELECT coalesce(array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) ORDER BY i), '{}')
  FROM generate_series(1, greatest(coalesce(cardinality(a), 0), coalesce(cardinality(b), 0))) AS i
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public' AND p.proname = 'histogram_sum' AND p.prokind = 'a') THEN
    CREATE AGGREGATE public.histogram_sum(bigint[]) (SFUNC = public.histogram_add, STYPE = bigint[], INITCOND = '{}');
  END IF;
END
$$;
