// hydrate-features' reads and its one write (hydrate.ts turns them into KV documents). Every query
// is bounded (LIMITs, indexed ranges); nothing scans learning_events.
import { asc, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { marketplaceCandidates } from '../db/schema';
import type { Db } from '../db/sql';
import { col, execute, nullable, queryRows } from '../db/sql';
import { UserDoc } from './feature-keys';
import { knownCandidate } from './queries-candidate-stats';

/** Active catalog candidates, best by catalog score or newest first. */
export function activeCandidates(db: Db, order: 'score' | 'newest', limit: number): Promise<{ id: string; score: number }[]> {
  const c = marketplaceCandidates;
  return db
    .select({ id: c.id, score: c.score })
    .from(c)
    .where(eq(c.active, true))
    .orderBy(order === 'score' ? desc(c.score) : desc(c.createdAt), asc(c.id))
    .limit(limit);
}

const InterestPoolRow = z.object({ interest_id: col.text, candidate_id: nullable.text, prior: nullable.number });

/** Per interest (one row with NULLs if it has none): its best candidates by mapping weight × score. */
export const interestPools = (db: Db, limit: number) =>
  queryRows(
    db,
    'learning.interest_pools',
    InterestPoolRow,
    sql`
    SELECT ic.id::text AS interest_id, x.candidate_id, x.prior
    FROM public.interest_catalog ic
    LEFT JOIN LATERAL (
      SELECT c.id::text AS candidate_id, max(m.weight * c.score)::float8 AS prior
      FROM public.marketplace_interest_map m
      JOIN public.marketplace_candidates c ON c.category_id = m.category_id AND c.active
      WHERE m.interest_id = ic.id
      GROUP BY c.id ORDER BY prior DESC, c.id LIMIT ${limit}
    ) x ON true
    ORDER BY ic.id, x.prior DESC NULLS LAST, x.candidate_id`,
  );

const SurfaceRow = z.object({ surface: col.text });

/**
 * Surfaces with candidate statistics updated within the last `days` days. What is published about
 * a surface comes from the bounded candidate statistics only (surfaceStats), never from the
 * per-policy totals, which any user's traffic moves without bound; so a surface where only made-up
 * ids were ranked is not even listed. A skip scan over the (surface, last_event_at) index: one
 * probe per surface, whatever the number of candidates.
 */
export const activeSurfaces = (db: Db, days: number) =>
  queryRows(
    db,
    'learning.active_surfaces',
    SurfaceRow,
    sql`
    WITH RECURSIVE s(surface) AS (
      (SELECT surface FROM public.learning_candidate_stats ORDER BY surface LIMIT 1)
      UNION ALL
      SELECT (SELECT c.surface FROM public.learning_candidate_stats c WHERE c.surface > s.surface ORDER BY c.surface LIMIT 1)
      FROM s WHERE s.surface IS NOT NULL
    )
    SELECT s.surface FROM s
    WHERE s.surface IS NOT NULL AND EXISTS (
      SELECT 1 FROM public.learning_candidate_stats c
      WHERE c.surface = s.surface AND c.last_event_at >= now() - make_interval(days => ${days}))`,
  );

const CandidateStatRow = z.object({ candidate_id: col.text, impressions: col.number, reward_sum: col.number, first_seen: col.number });

/**
 * Learned stats of a surface's known candidates seen within `days` days, most recently seen first.
 * Known is checked again here (the rollup counts only known candidates): rows from before
 * migration 0700 and candidates unregistered since are left out.
 */
export const surfaceStats = (db: Db, surface: string, days: number, limit: number) =>
  queryRows(
    db,
    'learning.surface_stats',
    CandidateStatRow,
    sql`
    SELECT s.candidate_id, s.impressions::float8 AS impressions, s.reward_sum, extract(epoch FROM s.first_seen_at)::float8 AS first_seen
    FROM public.learning_candidate_stats s
    WHERE s.surface = ${surface} AND s.last_event_at >= now() - make_interval(days => ${days})
      AND ${knownCandidate('s.surface', 's.candidate_id')}
    ORDER BY s.last_event_at DESC LIMIT ${limit}`,
  );

const DirtyUserRow = z.object({ user_id: col.uuid, interests: UserDoc.shape.interests });

/**
 * Take up to `limit` users marked dirty (trigger-marked on user_interests changes) with their
 * interests; an erased user (tombstone) comes with none, so their document is deleted.
 */
export const takeDirtyUsers = (db: Db, limit: number) =>
  queryRows(
    db,
    'learning.take_dirty_users',
    DirtyUserRow,
    sql`
    WITH d AS (
      DELETE FROM public.feature_dirty_users
      WHERE user_id IN (SELECT user_id FROM public.feature_dirty_users ORDER BY marked_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING user_id
    )
    SELECT d.user_id::text AS user_id,
           coalesce(json_agg(json_build_object('id', ui.interest_id, 'affinity', ui.affinity)
                             ORDER BY ui.affinity DESC, ui.interest_id) FILTER (WHERE ui.interest_id IS NOT NULL), '[]') AS interests
    FROM d LEFT JOIN public.user_interests ui ON ui.user_id = d.user_id AND NOT public.user_erased(d.user_id)
    GROUP BY d.user_id`,
  );

/** Which of these users are erased (their KV document must go even if it was just written). */
export const erasedUsers = (db: Db, userIds: readonly string[]) =>
  queryRows(
    db,
    'learning.erased_users',
    z.object({ user_id: col.uuid }),
    sql`
    SELECT u::text AS user_id FROM unnest(${sql.param(userIds)}::uuid[]) AS u WHERE public.user_erased(u)`,
  );

/** Mark users dirty again (their KV write failed; the next run retries them). */
export async function markUsersDirty(db: Db, userIds: readonly string[]): Promise<void> {
  await execute(
    db,
    sql`
    INSERT INTO public.feature_dirty_users (user_id) SELECT unnest(${sql.param(userIds)}::uuid[]) ON CONFLICT (user_id) DO NOTHING`,
  );
}
