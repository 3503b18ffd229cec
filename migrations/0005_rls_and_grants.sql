-- Row-level security on the user-scoped tables of guide §2A: owner-only for `authenticated`,
-- full access for `service_role`. The migration owner (table owner) is not subject to RLS, which
-- is how operators' psql sessions and the service-side jobs see everything.

ALTER TABLE public.user_interests ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.intent_signals ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.marketplace_discovery_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.learning_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.rate_limits ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['user_interests', 'intent_signals', 'marketplace_discovery_queue',
                           'learning_events', 'rate_limits']
  LOOP
    EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', t || '_service_all', t);
    EXECUTE format('CREATE POLICY %I ON public.%I FOR ALL TO service_role USING (true) WITH CHECK (true)',
                   t || '_service_all', t);
  END LOOP;
END
$$;

-- user_interests and intent_signals: the user owns them outright.
DROP POLICY IF EXISTS user_interests_owner ON public.user_interests;
CREATE POLICY user_interests_owner ON public.user_interests FOR ALL TO authenticated
  USING (user_id = auth.uid()) WITH CHECK (user_id = auth.uid());

DROP POLICY IF EXISTS intent_signals_owner_select ON public.intent_signals;
CREATE POLICY intent_signals_owner_select ON public.intent_signals FOR SELECT TO authenticated
  USING (user_id = auth.uid());
DROP POLICY IF EXISTS intent_signals_owner_insert ON public.intent_signals;
CREATE POLICY intent_signals_owner_insert ON public.intent_signals FOR INSERT TO authenticated
  WITH CHECK (user_id = auth.uid());

-- Discovery jobs: a user sees their own; only enqueue_discovery_for_user (definer) writes them.
DROP POLICY IF EXISTS marketplace_discovery_queue_owner_select ON public.marketplace_discovery_queue;
CREATE POLICY marketplace_discovery_queue_owner_select ON public.marketplace_discovery_queue
  FOR SELECT TO authenticated USING (user_id = auth.uid());

-- Learning events: a user reads and writes only their own.
DROP POLICY IF EXISTS learning_events_owner_select ON public.learning_events;
CREATE POLICY learning_events_owner_select ON public.learning_events FOR SELECT TO authenticated
  USING (user_id = auth.uid());
DROP POLICY IF EXISTS learning_events_owner_insert ON public.learning_events;
CREATE POLICY learning_events_owner_insert ON public.learning_events FOR INSERT TO authenticated
  WITH CHECK (user_id = auth.uid());

-- Rate limits: a user may read the overrides that apply to them (and the defaults).
DROP POLICY IF EXISTS rate_limits_owner_select ON public.rate_limits;
CREATE POLICY rate_limits_owner_select ON public.rate_limits FOR SELECT TO authenticated
  USING (user_id = auth.uid() OR user_id IS NULL);

-- Table privileges (RLS narrows them to rows).
GRANT SELECT ON public.interest_catalog, public.marketplace_categories, public.marketplace_interest_map,
                public.marketplace_candidates TO anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.user_interests TO authenticated;
GRANT SELECT, INSERT ON public.intent_signals, public.learning_events TO authenticated;
GRANT SELECT ON public.marketplace_discovery_queue, public.rate_limits TO authenticated;
GRANT SELECT ON public.feature_flags TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO authenticated, service_role;
-- SECURITY DEFINER functions are not for everyone: revoke the default PUBLIC grant first.
REVOKE EXECUTE ON FUNCTION public.enqueue_discovery_for_user(uuid), public.ensure_category_for_interest(uuid),
                           public.gc_learning_events(integer), public.gc_intent_signals(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.marketplace_suggestions_for_user(uuid, integer),
                          public.enqueue_discovery_for_user(uuid) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.ensure_category_for_interest(uuid),
                          public.gc_learning_events(integer), public.gc_intent_signals(integer) TO service_role;
