// The guide's statements that cannot run as written, and what the runbook (docs/RUNBOOK.md §2) and
// the smoke test (scripts/smoke.ts step 2A) run instead. No Node APIs: tests in workerd use it too.
//
// §2A "RLS policies exist" selects relname and polname FROM pg_policies; the catalog view calls
// those columns tablename and policyname (relname and polname are pg_class's and pg_policy's). The
// correction keeps the guide's output names, so the rows read as the guide expects.
export const GUIDE_2A_POLICIES = `SELECT tablename AS relname, policyname AS polname
FROM pg_policies
WHERE schemaname='public'
AND tablename IN ('user_interests', 'intent_signals', 'marketplace_discovery_queue', 'learning_events', 'rate_limits')
ORDER BY tablename, policyname;`;

/**
 * Opt-in for one session, to paste the guide's §2A text verbatim: guide_compat.pg_policies (migration
 * 0730) has the two alias columns. Never a role's or the database's setting — only for that session,
 * and only guide_compat (one view, owned by the migration owner) is searched before the catalog.
 */
export const GUIDE_COMPAT_SEARCH_PATH = 'SET search_path = guide_compat, pg_catalog, public';
