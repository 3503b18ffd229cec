// What hydrate-features puts in KV FEATURES and the ranker reads back: candidate pools and learned
// statistics. This module is pure: it defines the documents and turns them into scored candidates.
import type { CandidateStats, RankCandidate, ScoredCandidate } from './types';

/** How many impressions the prior is worth: estimate = (rewardSum + α·prior) / (impressions + α). */
export const PRIOR_STRENGTH = 10;

/** Per surface: learned stats (from learning_candidate_stats) and the popular/recent pools. */
export interface SurfaceFeatures {
  surface: string;
  generated_at: string;
  /** Mean reward per impression on this surface: the prior of candidates with no other prior. */
  mean_reward: number;
  /** candidate id → [impressions, reward sum]. */
  stats: Record<string, [number, number]>;
  pools: { popular: string[]; recent: string[] };
}

/** Catalog-wide pools (marketplace_candidates): best by catalog score, newest; catalog priors. */
export interface GlobalFeatures {
  generated_at: string;
  pools: { global: string[]; recent: string[] };
  priors: Record<string, number>;
}

/** Candidates of one interest's categories, best first, with prior = mapping weight × score. */
export interface InterestFeatures {
  interest_id: string;
  generated_at: string;
  pool: string[];
  priors: Record<string, number>;
}

/** A user's interests (written when user_interests changes). */
export interface UserFeatures {
  user_id: string;
  interests: { id: string; affinity: number }[];
}

/** Everything the ranker may use for one request, already loaded (any part may be missing). */
export interface RankFeatures {
  surface?: { meanReward: number; stats: Map<string, CandidateStats>; popular: string[]; recent: string[] };
  global?: { global: string[]; recent: string[]; priors: Map<string, number> };
  interests?: { affinity: number; pool: string[]; priors: Map<string, number> }[];
}

/** Parsed form of a surface document (done once per isolate cache fill, not per request). */
export function surfaceView(doc: SurfaceFeatures): NonNullable<RankFeatures['surface']> {
  const stats = new Map<string, CandidateStats>();
  for (const [id, [impressions, rewardSum]] of Object.entries(doc.stats)) stats.set(id, { impressions, rewardSum });
  return { meanReward: doc.mean_reward, stats, popular: doc.pools.popular, recent: doc.pools.recent };
}

export function globalView(doc: GlobalFeatures): NonNullable<RankFeatures['global']> {
  return { global: doc.pools.global, recent: doc.pools.recent, priors: new Map(Object.entries(doc.priors)) };
}

export function interestView(doc: InterestFeatures, affinity: number): NonNullable<RankFeatures['interests']>[number] {
  return { affinity, pool: doc.pool, priors: new Map(Object.entries(doc.priors)) };
}

/** The learned estimate, shrunk towards the prior while there are few impressions. */
export function exploitScore(stats: CandidateStats | undefined, prior: number): number {
  if (!stats || stats.impressions <= 0) return prior;
  return (stats.rewardSum + PRIOR_STRENGTH * prior) / (stats.impressions + PRIOR_STRENGTH);
}

/** Prior of a candidate with no caller score: best interest prior × affinity, catalog prior, surface mean. */
export function priorOf(id: string, f: RankFeatures): number {
  let best: number | undefined;
  for (const i of f.interests ?? []) {
    const p = i.priors.get(id);
    if (p !== undefined && (best === undefined || p * i.affinity > best)) best = p * i.affinity;
  }
  return best ?? f.global?.priors.get(id) ?? f.surface?.meanReward ?? 0;
}

/** Caller's candidates → scored candidates (caller score is the prior; learned stats refine it). */
export function scoreRequestCandidates(cands: readonly RankCandidate[], f: RankFeatures): ScoredCandidate[] {
  const stats = f.surface?.stats;
  const out: ScoredCandidate[] = new Array(cands.length);
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i]!;
    const prior = c.score ?? priorOf(c.id, f);
    out[i] = { id: c.id, score: exploitScore(stats?.get(c.id), prior) };
  }
  return out;
}

/** No candidates in the request: the union of the pools (surface, catalog, the caller's interests). */
export function poolCandidates(f: RankFeatures): ScoredCandidate[] {
  const seen = new Set<string>();
  const out: ScoredCandidate[] = [];
  const add = (ids: readonly string[] | undefined) => {
    for (const id of ids ?? []) {
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ id, score: exploitScore(f.surface?.stats.get(id), priorOf(id, f)) });
    }
  };
  add(f.surface?.popular);
  add(f.surface?.recent);
  for (const i of f.interests ?? []) add(i.pool);
  add(f.global?.global);
  add(f.global?.recent);
  return out;
}
