// Reward ranges at the edge. public.reward_ranges is the truth (migration 0700: a row per surface
// that has its own range, '*' for every other surface); POST /v1/rewards never queries Postgres:
//
//   Postgres reward_ranges ──cron every minute (syncRewardRanges)──▶ KV LIMITS "reward_ranges:v1"
//   KV ──read at most every MEMORY_TTL_MS per isolate──▶ isolate memory ──▶ checkReward()
//
// The same path as rate limits (src/ratelimit/config.ts). A KV miss serves the built-in default
// [0, 1] for every surface and refills KV from Postgres in the background. The consumer checks
// every reward again against the range of its impression's real surface (queries-ingest.ts), so
// the edge's check is the client's early, explained 400, and the consumer's is authoritative.
import { z } from 'zod';
import type { Db } from '../db/sql';
import { errorFields, type Logger } from '../observability/logger';
import { DEFAULT_RANGE_KEY, listRangeRows } from './queries-reward-ranges';

export interface RewardRange {
  min: number;
  max: number;
}

export interface RewardRangesConfig {
  /** The '*' row: every surface without its own. */
  default: RewardRange;
  surfaces: Record<string, RewardRange>;
  /** When Postgres was read (ISO); 'fallback' for the built-in default. */
  loadedAt: string;
}

/** The documented default, used until this isolate has read KV or Postgres once. */
export const FALLBACK_RANGE: RewardRange = Object.freeze({ min: 0, max: 1 });

export const RANGES_KV_KEY = 'reward_ranges:v1';
export const MEMORY_TTL_MS = 15_000;
const REFILL_BACKOFF_MS = 30_000;

const Range = z.object({ min: z.number(), max: z.number() });
const ConfigSchema = z.object({ default: Range, surfaces: z.record(z.string(), Range), loadedAt: z.string() });

const fallbackConfig = (): RewardRangesConfig => ({ default: { ...FALLBACK_RANGE }, surfaces: {}, loadedAt: 'fallback' });

let memory: { config: RewardRangesConfig; fetchedAt: number } | undefined;
let refreshing: Promise<unknown> | undefined;
let nextRefillAt = 0;

export async function loadRangesFromDb(db: Db): Promise<RewardRangesConfig> {
  const config: RewardRangesConfig = { ...fallbackConfig(), loadedAt: new Date().toISOString() };
  for (const r of await listRangeRows(db)) {
    const range = { min: r.min_reward, max: r.max_reward };
    if (r.surface === DEFAULT_RANGE_KEY) config.default = range;
    else config.surfaces[r.surface] = range;
  }
  return config;
}

/** Postgres → KV → this isolate's memory: the cron job and every admin write call this. */
export async function syncRewardRanges(env: Env, db: Db): Promise<{ surfaces: number; default: RewardRange }> {
  const config = await loadRangesFromDb(db);
  await env.LIMITS.put(RANGES_KV_KEY, JSON.stringify(config));
  memory = { config, fetchedAt: Date.now() };
  return { surfaces: Object.keys(config.surfaces).length, default: config.default };
}

export interface RangesSource {
  env: Env;
  log: Logger;
  /** Where a background refill from Postgres runs (ctx.waitUntil). */
  background: (p: Promise<unknown>) => void;
  /** Builds a DB handle for the refill (owned and closed by the caller's background task). */
  withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
}

/** The ranges as this isolate knows them: memory (fresh) → KV → stale memory → fallback. */
export async function getRewardRanges(s: RangesSource): Promise<RewardRangesConfig> {
  const now = Date.now();
  if (memory && now - memory.fetchedAt < MEMORY_TTL_MS) return memory.config;
  let raw: unknown = null;
  try {
    raw = await s.env.LIMITS.get(RANGES_KV_KEY, 'json');
  } catch (err) {
    s.log.warn('reward_ranges.kv_failed', errorFields(err));
  }
  const parsed = raw === null ? undefined : ConfigSchema.safeParse(raw);
  if (parsed?.success) {
    memory = { config: parsed.data, fetchedAt: now };
    return parsed.data;
  }
  if (parsed && !parsed.success) s.log.error('reward_ranges.config_invalid', { key: RANGES_KV_KEY });
  // Nothing usable in KV: refill it from Postgres after the response (one attempt at a time per
  // isolate, and not again for REFILL_BACKOFF_MS after a failure).
  if (!refreshing && now >= nextRefillAt) {
    nextRefillAt = now + REFILL_BACKOFF_MS;
    refreshing = s
      .withDb((db) => syncRewardRanges(s.env, db))
      .then(() => {
        nextRefillAt = 0;
      })
      .catch((err) => s.log.warn('reward_ranges.refill_failed', errorFields(err)))
      .finally(() => {
        refreshing = undefined;
      });
    s.background(refreshing);
  }
  return memory?.config ?? fallbackConfig();
}

export interface RangeVerdict extends RewardRange {
  ok: boolean;
  /** Which range applied: the surface's own, or the default. */
  source: 'surface' | 'default';
  /** For a reward outside the range: what the client is told (names the range and whose it is). */
  message?: string;
}

/** Check a reward against the range of `surface` (the default range when none is named or it has none). */
export function checkReward(config: RewardRangesConfig, reward: number, surface?: string): RangeVerdict {
  const own = surface === undefined ? undefined : config.surfaces[surface];
  const range = own ?? config.default;
  const verdict: RangeVerdict = { ...range, ok: reward >= range.min && reward <= range.max, source: own ? 'surface' : 'default' };
  if (!verdict.ok) {
    const whose = own
      ? `the reward range of surface "${surface}"`
      : surface === undefined
        ? 'the default reward range; send "surface" to check against the range of the surface the decision was for'
        : `the default reward range: surface "${surface}" has no range of its own`;
    verdict.message = `reward ${reward} is outside [${range.min}, ${range.max}] (${whose})`;
  }
  return verdict;
}

/** Tests only: forget the isolate's cached ranges. */
export function resetRewardRangesCache(): void {
  memory = undefined;
  nextRefillAt = 0;
}
