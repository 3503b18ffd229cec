// The candidate-statistics part of the learning rollup (spliced into its one statement in
// queries-rollup.ts, after its `tail` and `deltas` CTEs): learning_candidate_stats is what every
// user's slate reads (hydrate-features publishes it to KV as learned scores, popular and recent
// pools and the surface's mean reward), so what one user can do to it is bounded:
//  - only known candidates count: catalog ids and ids registered for the surface (knownCandidate,
//    public.learning_candidate_known inline); a made-up id a client ranks is logged in learning_events
//    and learning_policy_daily (per policy, read by no one else's slate) and nowhere else;
//  - per (surface, candidate, user, UTC day) at most one counted impression and one counted
//    reward, remembered in learning_candidate_user_days. A reward counts when its key has none
//    yet; a later change of that same event's reward (an operator's correction) flows through;
//    every other reward of the key does not.
// The statement runs under the rollup's advisory lock, so the user-day rows it reads (ud_old)
// cannot change underneath it: no other writer touches them.
import { sql } from 'drizzle-orm';

/** User of events without one (direct SQL inserts): they share one bounded key. */
const NIL_USER = sql.raw(`'00000000-0000-0000-0000-000000000000'::uuid`);

/**
 * Is candidate `candidateExpr` known on surface `surfaceExpr` (SQL expressions of the statement it
 * is spliced into, constants of our code)? Registered for the surface, or a catalog id in its
 * canonical text. The same predicate as public.learning_candidate_known(), inline: a SQL function
 * that reads tables is executed (not inlined) once per row, at a cost that dominates a rollup or
 * a hydrate of thousands of rows; correlated EXISTS are planned once. The CASE keeps the uuid cast
 * away from free text. test/integration/bounded-influence-sql.test.ts checks the two agree.
 */
export const knownCandidate = (surfaceExpr: string, candidateExpr: string) =>
  sql.raw(`(EXISTS (SELECT 1 FROM public.surface_candidates sc WHERE sc.surface = ${surfaceExpr} AND sc.candidate_id = ${candidateExpr})
    OR CASE WHEN ${candidateExpr} ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            THEN EXISTS (SELECT 1 FROM public.marketplace_candidates mc WHERE mc.id = (${candidateExpr})::uuid)
            ELSE false END)`);

/**
 * CTEs ending in `cand` (one row per upserted learning_candidate_stats row). Expects `tail`
 * (surface, candidate_id, user_id, event_id, day, ts, explored) and `deltas` (event_id, surface,
 * candidate_id, day, ts, d_reward, d_count) earlier in the same WITH.
 */
export const BOUNDED_CANDIDATE_STATS = sql`
known AS (
  SELECT k.surface, k.candidate_id
  FROM (SELECT surface, candidate_id FROM tail UNION SELECT surface, candidate_id FROM deltas) k
  WHERE ${knownCandidate('k.surface', 'k.candidate_id')}
), ud_imp AS (
  -- The first impression of each key in this run.
  SELECT DISTINCT ON (t.surface, t.candidate_id, t.uid, t.day) t.surface, t.candidate_id, t.uid, t.day, t.explored, t.ts
  FROM (SELECT surface, candidate_id, coalesce(user_id, ${NIL_USER}) AS uid, day, explored, ts, event_id FROM tail) t
  JOIN known k ON k.surface = t.surface AND k.candidate_id = t.candidate_id
  ORDER BY t.surface, t.candidate_id, t.uid, t.day, t.ts, t.event_id
), ud_rew AS (
  -- Net reward change per event (several deltas of one event in one run are summed). The user
  -- is the event's; an event deleted meanwhile (retention) is no one's and counts nowhere.
  SELECT d.event_id, d.surface, d.candidate_id, coalesce(le.user_id, ${NIL_USER}) AS uid, d.day, min(d.ts) AS ts,
         sum(d.d_reward) AS d_reward, sum(d.d_count)::int AS d_count
  FROM deltas d
  JOIN known k ON k.surface = d.surface AND k.candidate_id = d.candidate_id
  JOIN public.learning_events le ON le.id = d.event_id
  GROUP BY d.event_id, d.surface, d.candidate_id, le.user_id, d.day
), ud_old AS (
  -- Every key this run touches, with what it has counted before (NULLs: a new key).
  SELECT k.surface, k.candidate_id, k.uid, k.day, o.impression AS old_imp, o.reward_event_id AS old_event, o.reward AS old_reward
  FROM (SELECT surface, candidate_id, uid, day FROM ud_imp UNION SELECT surface, candidate_id, uid, day FROM ud_rew) k
  LEFT JOIN public.learning_candidate_user_days o
    ON o.surface = k.surface AND o.candidate_id = k.candidate_id AND o.user_id = k.uid AND o.day = k.day
), ud_rew_counted AS (
  -- Per key at most one reward change counts: a change of the counted event's reward, or else
  -- the first new reward (d_count = 1) of a key that has none.
  SELECT DISTINCT ON (o.surface, o.candidate_id, o.uid, o.day) o.surface, o.candidate_id, o.uid, o.day,
         r.event_id, r.d_reward, r.d_count, r.ts
  FROM ud_old o
  JOIN ud_rew r ON r.surface = o.surface AND r.candidate_id = o.candidate_id AND r.uid = o.uid AND r.day = o.day
  WHERE r.event_id = o.old_event OR (o.old_event IS NULL AND r.d_count = 1)
  ORDER BY o.surface, o.candidate_id, o.uid, o.day, r.ts, r.event_id
), ud_new AS (
  SELECT o.surface, o.candidate_id, o.uid, o.day,
         (i.uid IS NOT NULL AND o.old_imp IS NOT TRUE) AS count_imp,
         (r.event_id IS NOT NULL) AS count_rew,
         (i.uid IS NOT NULL OR o.old_imp IS TRUE) AS impression,
         CASE WHEN r.event_id IS NULL THEN o.old_event WHEN r.d_count < 0 THEN NULL ELSE r.event_id END AS reward_event_id,
         CASE WHEN r.event_id IS NULL THEN o.old_reward WHEN r.d_count < 0 THEN NULL
              ELSE coalesce(o.old_reward, 0) + r.d_reward END AS reward,
         i.explored, i.ts AS imp_ts, r.d_reward, r.d_count, r.ts AS rew_ts
  FROM ud_old o
  LEFT JOIN ud_imp i ON i.surface = o.surface AND i.candidate_id = o.candidate_id AND i.uid = o.uid AND i.day = o.day
  LEFT JOIN ud_rew_counted r ON r.surface = o.surface AND r.candidate_id = o.candidate_id AND r.uid = o.uid AND r.day = o.day
), ud_write AS (
  INSERT INTO public.learning_candidate_user_days AS t (surface, candidate_id, user_id, day, impression, reward_event_id, reward)
  SELECT surface, candidate_id, uid, day, impression, reward_event_id, reward FROM ud_new WHERE count_imp OR count_rew
  ON CONFLICT (surface, candidate_id, user_id, day) DO UPDATE SET
    impression = EXCLUDED.impression, reward_event_id = EXCLUDED.reward_event_id, reward = EXCLUDED.reward, updated_at = now()
  RETURNING 1
), cand AS (
  INSERT INTO public.learning_candidate_stats AS t (surface, candidate_id, impressions, explored, rewarded, reward_sum,
    first_seen_at, last_event_at)
  SELECT surface, candidate_id, count(*) FILTER (WHERE count_imp), count(*) FILTER (WHERE count_imp AND explored),
         coalesce(sum(d_count) FILTER (WHERE count_rew), 0), coalesce(sum(d_reward) FILTER (WHERE count_rew), 0),
         min(least(CASE WHEN count_imp THEN imp_ts END, CASE WHEN count_rew THEN rew_ts END)),
         max(greatest(CASE WHEN count_imp THEN imp_ts END, CASE WHEN count_rew THEN rew_ts END))
  FROM ud_new WHERE count_imp OR count_rew
  GROUP BY surface, candidate_id
  ON CONFLICT (surface, candidate_id) DO UPDATE SET
    impressions = t.impressions + EXCLUDED.impressions, explored = t.explored + EXCLUDED.explored,
    rewarded = t.rewarded + EXCLUDED.rewarded, reward_sum = t.reward_sum + EXCLUDED.reward_sum,
    first_seen_at = least(t.first_seen_at, EXCLUDED.first_seen_at),
    last_event_at = greatest(t.last_event_at, EXCLUDED.last_event_at), updated_at = now()
  RETURNING 1
)`;
