// hydrate-features (cron */5 after the rollup, and POST /functions/v1/hydrate-features): writes
// the candidate pools and learned scores the ranker reads to KV FEATURES.
//   global           active catalog candidates: best by catalog score, newest; their priors
//   interest:<id>    candidates of the interest's categories, by mapping weight × score
//   surface:<name>   learned stats of the surface's recent known candidates, popular and recent
//                    pools, the surface's mean reward (the prior of candidates without one) — all
//                    from learning_candidate_stats, whose every input is bounded per user and
//                    known candidate (queries-candidate-stats.ts): no user steers another's slate
//   user:<id>        the user's interests, for users whose user_interests changed (trigger-marked)
// The queries are in queries-hydrate.ts.

import { errorFields } from '../observability/logger';
import type { Unit } from '../platform/unit';
import type { GlobalFeatures, InterestFeatures, SurfaceFeatures, UserFeatures } from '../ranker';
import { FEATURE_KEYS } from './feature-keys';
import { clearFeatureCache } from './features-store';
import {
  activeCandidates,
  activeSurfaces,
  erasedUsers,
  interestPools,
  markUsersDirty,
  surfaceStats,
  takeDirtyUsers,
} from './queries-hydrate';

export const HYDRATE_LIMITS = {
  pool: 50,
  /** Candidates per surface whose learned stats go to KV (most recently seen first). */
  surfaceStats: 5_000,
  /** Surfaces active within this many days are hydrated. */
  activeDays: 30,
  usersPerRun: 200,
};
const SURFACE_DOC_TTL_S = 30 * 86_400;

/** What a hydrate run needs of its unit of work (the cron job's or the request's). */
type HydrateUnit = Pick<Unit, 'env' | 'db' | 'log'>;

async function put(kv: KVNamespace, key: string, doc: unknown, ttl?: number): Promise<void> {
  await kv.put(key, JSON.stringify(doc), ttl ? { expirationTtl: ttl } : undefined);
}

async function hydrateCatalog(c: HydrateUnit, now: string): Promise<{ global: number; interests: number }> {
  const db = c.db();
  const [best, recent, interestRows] = await Promise.all([
    activeCandidates(db, 'score', HYDRATE_LIMITS.pool),
    activeCandidates(db, 'newest', HYDRATE_LIMITS.pool),
    interestPools(db, HYDRATE_LIMITS.pool),
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

async function hydrateSurfaces(c: HydrateUnit, now: string): Promise<number> {
  const db = c.db();
  const surfaces = await activeSurfaces(db, HYDRATE_LIMITS.activeDays);
  for (const s of surfaces) {
    const rows = await surfaceStats(db, s.surface, HYDRATE_LIMITS.activeDays, HYDRATE_LIMITS.surfaceStats);
    let impressions = 0;
    let rewardSum = 0;
    for (const r of rows) {
      impressions += r.impressions;
      rewardSum += r.reward_sum;
    }
    const meanReward = impressions > 0 ? rewardSum / impressions : 0;
    const byReward = [...rows].sort((a, b) => b.reward_sum - a.reward_sum || a.candidate_id.localeCompare(b.candidate_id));
    const byAge = [...rows].sort((a, b) => b.first_seen - a.first_seen || a.candidate_id.localeCompare(b.candidate_id));
    const doc: SurfaceFeatures = {
      surface: s.surface,
      generated_at: now,
      mean_reward: meanReward,
      stats: Object.fromEntries(rows.map((r) => [r.candidate_id, [r.impressions, r.reward_sum]])),
      pools: {
        popular: byReward
          .filter((r) => r.reward_sum > 0)
          .slice(0, HYDRATE_LIMITS.pool)
          .map((r) => r.candidate_id),
        recent: byAge.slice(0, HYDRATE_LIMITS.pool).map((r) => r.candidate_id),
      },
    };
    await put(c.env.FEATURES, FEATURE_KEYS.surface(s.surface), doc, SURFACE_DOC_TTL_S);
  }
  return surfaces.length;
}

async function hydrateUsers(c: HydrateUnit): Promise<{ users: number; failed: number }> {
  const db = c.db();
  const rows = await takeDirtyUsers(db, HYDRATE_LIMITS.usersPerRun);
  const failed: string[] = [];
  await Promise.all(
    rows.map(async (r) => {
      try {
        if (r.interests.length === 0) await c.env.FEATURES.delete(FEATURE_KEYS.user(r.user_id));
        else await put(c.env.FEATURES, FEATURE_KEYS.user(r.user_id), { user_id: r.user_id, interests: r.interests } satisfies UserFeatures);
      } catch (err) {
        failed.push(r.user_id);
        c.log.warn('features.user_write_failed', { user_id: r.user_id, ...errorFields(err) });
      }
    }),
  );
  // Whoever could not be written stays dirty for the next run.
  if (failed.length > 0) await markUsersDirty(db, failed);
  // An erasure that began after takeDirtyUsers read these users may have deleted their document
  // before our put landed: checked after the puts, one of the two deletes comes last.
  const written = rows.filter((r) => r.interests.length > 0 && !failed.includes(r.user_id)).map((r) => r.user_id);
  if (written.length > 0) {
    for (const { user_id } of await erasedUsers(db, written)) await c.env.FEATURES.delete(FEATURE_KEYS.user(user_id));
  }
  return { users: rows.length - failed.length, failed: failed.length };
}

export async function hydrateFeatures(c: HydrateUnit) {
  const now = new Date().toISOString();
  const catalog = await hydrateCatalog(c, now);
  const surfaces = await hydrateSurfaces(c, now);
  const users = await hydrateUsers(c);
  clearFeatureCache(c.env.FEATURES);
  return { global_candidates: catalog.global, interests: catalog.interests, surfaces, users: users.users, users_failed: users.failed };
}
