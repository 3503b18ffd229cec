// Read side of KV FEATURES for /v1/rank: no Postgres, and usually not even KV. Parsed documents
// are kept in isolate memory for a few seconds (request-independent data, keyed by the KV binding)
// and KV reads use the edge cache. A missing or malformed document means "no features" (the
// ranker then uses the caller's scores and whatever else it has), never an error.

import type { z } from 'zod';
import { errorFields, type Logger } from '../observability/logger';
import { globalView, interestView, type RankFeatures, surfaceView } from '../ranker';
import { FEATURE_KEYS, GlobalDoc, InterestDoc, SurfaceDoc, UserDoc } from './feature-keys';

const MEMORY_TTL_MS = 15_000;
const KV_CACHE_TTL_S = 60;
const MAX_ENTRIES = 2_000;
/** Interest pools taken per request (the caller's strongest interests). */
export const MAX_INTEREST_POOLS = 5;

interface Entry {
  expires: number;
  value: unknown;
}
const caches = new WeakMap<KVNamespace, Map<string, Entry>>();

async function cached<D, V>(kv: KVNamespace, key: string, schema: z.ZodType<D>, view: (doc: D) => V, log: Logger): Promise<V | undefined> {
  const now = Date.now();
  let map = caches.get(kv);
  if (!map) {
    map = new Map();
    caches.set(kv, map);
  }
  const hit = map.get(key);
  if (hit && hit.expires > now) return hit.value as V | undefined;
  let value: V | undefined;
  try {
    const raw = await kv.get(key, { type: 'json', cacheTtl: KV_CACHE_TTL_S });
    if (raw !== null) {
      const parsed = schema.safeParse(raw);
      if (parsed.success) value = view(parsed.data);
      else log.error('features.invalid_doc', { key });
    }
  } catch (err) {
    // KV trouble: keep serving the last value we had (possibly expired) rather than nothing.
    log.warn('features.kv_failed', { key, ...errorFields(err) });
    return hit?.value as V | undefined;
  }
  map.delete(key);
  if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
  map.set(key, { expires: now + MEMORY_TTL_MS, value });
  return value;
}

export interface FeatureRequest {
  surface: string;
  userId?: string;
  /** The request has no candidates: load the pools of the caller's interests too. */
  pools: boolean;
}

export async function loadRankFeatures(kv: KVNamespace, log: Logger, req: FeatureRequest): Promise<RankFeatures> {
  const [surface, global, interests] = await Promise.all([
    cached(kv, FEATURE_KEYS.surface(req.surface), SurfaceDoc, surfaceView, log),
    cached(kv, FEATURE_KEYS.global, GlobalDoc, globalView, log),
    req.pools && req.userId ? cached(kv, FEATURE_KEYS.user(req.userId), UserDoc, (d) => d.interests, log) : undefined,
  ]);
  const features: RankFeatures = { surface, global };
  if (interests && interests.length > 0) {
    const top = interests.slice(0, MAX_INTEREST_POOLS);
    const views = await Promise.all(top.map((i) => cached(kv, FEATURE_KEYS.interest(i.id), InterestDoc, (d) => interestView(d, 1), log)));
    features.interests = views.flatMap((v, j) => (v ? [{ ...v, affinity: top[j]!.affinity }] : []));
  }
  return features;
}

/** Forget cached documents (tests and the hydrate route, so a fresh hydrate is visible at once). */
export function clearFeatureCache(kv: KVNamespace): void {
  caches.delete(kv);
}
