// hydrate-features (cron */5 after the rollup, and POST /functions/v1/hydrate-features): writes
// the candidate pools and learned scores the ranker reads to KV FEATURES.
//   global           active catalog candidates: best by catalog score, newest; their priors
//   interest:<id>    candidates of the interest's categories, by mapping weight × score
//   surface:<name>   learned stats of the surface's recent candidates, popular and recent pools,
//                    the surface's mean reward (the prior of unknown candidates)
//   user:<id>        the user's interests, for users whose user_interests changed (trigger-marked)
// Every query is bounded (LIMITs, indexed ranges); nothing scans learning_events.
import type { Db } from '../db/client';
import type { GlobalFeatures, InterestFeatures, SurfaceFeatures, UserFeatures } from '../ranker';
import { errorFields, type Logger } from '../observability/logger';
import { clearFeatureCache } from './features-store';
import { FEATURE_KEYS } from './feature-keys';

export const HYDRATE_LIMITS = {
  pool: 50,
  /** Candidates per surface whose learned stats go to KV (most recently seen first). */
  surfaceStats: 5_000,
  /** Surfaces active within this many days are hydrated. */
  activeDays: 30,
  usersPerRun: 200,
};
const SURFACE_DOC_TTL_S = 30 * 86_400;

export interface HydrateContext {
  env: Env;
  db: () => Db;
  log: Logger;
}

async function put(kv: KVNamespace, key: string, doc: unknown, ttl?: number): Promise<void> {
  await kv.put(key, JSON.stringify(doc), ttl ? { expirationTtl: ttl } : undefined);
}

async function hydrateCatalog(c: HydrateContext, now: string): Promise<{ global: number; interests: number }> {
  const db = c.db();
  const [best, recent, interestRows] = await Promise.all([
    db.query<{ id: string; score: number }>(
      'SELECT id::text, score FROM public.marketplace_candidates WHERE active ORDER BY score DESC, id LIMIT $1', [HYDRATE_LIMITS.pool]),
    db.query<{ id: string; score: number }>(
      'SELECT id::text, score FROM public.marketplace_candidates WHERE active ORDER BY created_at DESC, id LIMIT $1', [HYDRATE_LIMITS.pool]),
    db.query<{ interest_id: string; candidate_id: string | null; prior: number | null }>(
      `SELECT ic.id::text AS interest_id, x.candidate_id, x.prior
       FROM public.interest_catalog ic
       LEFT JOIN LATERAL (
         SELECT c.id::text AS candidate_id, max(m.weight * c.score)::float8 AS prior
         FROM public.marketplace_interest_map m
         JOIN public.marketplace_candidates c ON c.category_id = m.category_id AND c.active
         WHERE m.interest_id = ic.id
         GROUP BY c.id ORDER BY prior DESC, c.id LIMIT $1
       ) x ON true
       ORDER BY ic.id, x.prior DESC NULLS LAST, x.candidate_id`, [HYDRATE_LIMITS.pool]),
  ]);
  const global: GlobalFeatures = {
    generated_at: now,
    pools: { global: best.map((r) => r.id), recent: recent.map((r) => r.id) },
    priors: Object.fromEntries([...best, ...recent].map((r) => [r.id, r.score])),
  };
  const interests = new Map<string, InterestFeatures>();
  for (const r of interestRows) {
    const doc = interests.get(r.interest_id) ?? { interest_id: r.interest_id, generated_at: now, pool: [], priors: {} };
    if (r.candidate_id) {
      doc.pool.push(r.candidate_id);
      doc.priors[r.candidate_id] = r.prior ?? 0;
    }
    interests.set(r.interest_id, doc);
  }
  await Promise.all([
    put(c.env.FEATURES, FEATURE_KEYS.global, global),
    ...[...interests.values()].map((d) => put(c.env.FEATURES, FEATURE_KEYS.interest(d.interest_id), d)),
  ]);
  return { global: best.length, interests: interests.size };
}

async function hydrateSurfaces(c: HydrateContext, now: string): Promise<number> {
  const db = c.db();
  const surfaces = await db.query<{ surface: string; impressions: number; reward_sum: number }>(
    `SELECT surface, sum(impressions)::float8 AS impressions, sum(reward_sum)::float8 AS reward_sum
     FROM public.learning_policy_daily WHERE day >= current_date - $1::int GROUP BY surface`, [HYDRATE_LIMITS.activeDays]);
  for (const s of surfaces) {
    const rows = await db.query<{ candidate_id: string; impressions: number; reward_sum: number; first_seen: number }>(
      `SELECT candidate_id, impressions::float8 AS impressions, reward_sum, extract(epoch FROM first_seen_at)::float8 AS first_seen
       FROM public.learning_candidate_stats
       WHERE surface = $1 AND last_event_at >= now() - make_interval(days => $2)
       ORDER BY last_event_at DESC LIMIT $3`, [s.surface, HYDRATE_LIMITS.activeDays, HYDRATE_LIMITS.surfaceStats]);
    const meanReward = s.impressions > 0 ? s.reward_sum / s.impressions : 0;
    const byReward = [...rows].sort((a, b) => b.reward_sum - a.reward_sum || a.candidate_id.localeCompare(b.candidate_id));
    const byAge = [...rows].sort((a, b) => b.first_seen - a.first_seen || a.candidate_id.localeCompare(b.candidate_id));
    const doc: SurfaceFeatures = {
      surface: s.surface,
      generated_at: now,
      mean_reward: meanReward,
      stats: Object.fromEntries(rows.map((r) => [r.candidate_id, [r.impressions, r.reward_sum]])),
      pools: {
        popular: byReward.filter((r) => r.reward_sum > 0).slice(0, HYDRATE_LIMITS.pool).map((r) => r.candidate_id),
        recent: byAge.slice(0, HYDRATE_LIMITS.pool).map((r) => r.candidate_id),
      },
    };
    await put(c.env.FEATURES, FEATURE_KEYS.surface(s.surface), doc, SURFACE_DOC_TTL_S);
  }
  return surfaces.length;
}

async function hydrateUsers(c: HydrateContext): Promise<{ users: number; failed: number }> {
  const db = c.db();
  const rows = await db.query<{ user_id: string; interests: UserFeatures['interests'] }>(
    `WITH d AS (
       DELETE FROM public.feature_dirty_users
       WHERE user_id IN (SELECT user_id FROM public.feature_dirty_users ORDER BY marked_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING user_id
     )
     SELECT d.user_id::text AS user_id,
            coalesce(json_agg(json_build_object('id', ui.interest_id, 'affinity', ui.affinity)
                              ORDER BY ui.affinity DESC, ui.interest_id) FILTER (WHERE ui.interest_id IS NOT NULL), '[]') AS interests
     FROM d LEFT JOIN public.user_interests ui ON ui.user_id = d.user_id
     GROUP BY d.user_id`, [HYDRATE_LIMITS.usersPerRun]);
  const failed: string[] = [];
  await Promise.all(rows.map(async (r) => {
    try {
      if (r.interests.length === 0) await c.env.FEATURES.delete(FEATURE_KEYS.user(r.user_id));
      else await put(c.env.FEATURES, FEATURE_KEYS.user(r.user_id), { user_id: r.user_id, interests: r.interests } satisfies UserFeatures);
    } catch (err) {
      failed.push(r.user_id);
      c.log.warn('features.user_write_failed', { user_id: r.user_id, ...errorFields(err) });
    }
  }));
  // Whoever could not be written stays dirty for the next run.
  if (failed.length > 0) {
    await db.query(
      'INSERT INTO public.feature_dirty_users (user_id) SELECT unnest($1::uuid[]) ON CONFLICT (user_id) DO NOTHING', [failed]);
  }
  return { users: rows.length - failed.length, failed: failed.length };
}

export async function hydrateFeatures(c: HydrateContext) {
  const now = new Date().toISOString();
  const catalog = await hydrateCatalog(c, now);
  const surfaces = await hydrateSurfaces(c, now);
  const users = await hydrateUsers(c);
  clearFeatureCache(c.env.FEATURES);
  return { global_candidates: catalog.global, interests: catalog.interests, surfaces, users: users.users, users_failed: users.failed };
}
