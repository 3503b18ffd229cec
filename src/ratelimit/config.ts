// Rate limits come from public.rate_limits (route_class, user_id NULL = the class default,
// max_requests, window_seconds). The request path never queries Postgres for them:
//
//   Postgres rate_limits ──cron every minute (syncLimits)──▶ KV LIMITS "rate_limits:v1"
//   KV ──read at most every MEMORY_TTL_MS per isolate──▶ isolate memory ──▶ limitFor()
//
// A KV miss (first deploy, key deleted) serves the built-in fallback for that request and refills
// KV from Postgres in the background. An operator's UPDATE therefore takes effect within about a
// minute (cron) + KV propagation (≤ 60 s) + MEMORY_TTL_MS; POST /admin/rate-limits/sync skips the cron.
import { z } from 'zod';
import { rateLimits } from '../db/schema';
import type { Db } from '../db/sql';
import { errorFields, type Logger } from '../observability/logger';
import type { LimitClass } from '../platform/route';
import { ANON_LIMIT, type Limit } from './limiter-api';

export type { Limit } from './limiter-api';

export interface LimitsConfig {
  /** Class defaults (rows with user_id NULL). */
  defaults: Record<string, Limit>;
  /** userId → class → override. */
  overrides: Record<string, Record<string, Limit>>;
  /** When Postgres was read (ISO); 'fallback' for the built-in values. */
  loadedAt: string;
}

/**
 * Used only until this isolate has read KV or Postgres once (the same values as
 * seeds/0400_rate_limits.sql and, for 'reward', seeds/0700_bounded_influence.sql). The table is
 * the truth; these keep the limiter safe meanwhile.
 */
export const FALLBACK_LIMITS: Record<LimitClass, Limit> = {
  // Not enforced by the table: anonymous callers meet the native binding (anonymous.ts), whose
  // limit this mirrors (and the seed's anon row too, checked by a unit test).
  anon: ANON_LIMIT,
  user: { max: 600, windowSec: 60 },
  reward: { max: 120, windowSec: 60 },
  admin_read: { max: 6000, windowSec: 60 },
  admin_write: { max: 300, windowSec: 60 },
  job: { max: 120, windowSec: 60 },
};

export const LIMITS_KV_KEY = 'rate_limits:v1';
export const MEMORY_TTL_MS = 15_000;

const LimitSchema = z.object({ max: z.number().int().positive(), windowSec: z.number().int().positive() });
const ConfigSchema = z.object({
  defaults: z.record(z.string(), LimitSchema),
  overrides: z.record(z.string(), z.record(z.string(), LimitSchema)),
  loadedAt: z.string(),
});

const fallbackConfig = (): LimitsConfig => ({ defaults: { ...FALLBACK_LIMITS }, overrides: {}, loadedAt: 'fallback' });

let memory: { config: LimitsConfig; fetchedAt: number } | undefined;
let refreshing: Promise<unknown> | undefined;
/** After a failed refill, wait this long before trying Postgres again (it may be down). */
const REFILL_BACKOFF_MS = 30_000;
let nextRefillAt = 0;

export async function loadLimitsFromDb(db: Db): Promise<LimitsConfig> {
  const rows = await db
    .select({
      routeClass: rateLimits.routeClass,
      userId: rateLimits.userId,
      max: rateLimits.maxRequests,
      windowSec: rateLimits.windowSeconds,
    })
    .from(rateLimits);
  const config: LimitsConfig = { defaults: {}, overrides: {}, loadedAt: new Date().toISOString() };
  for (const r of rows) {
    const limit = { max: r.max, windowSec: r.windowSec };
    if (r.userId === null) config.defaults[r.routeClass] = limit;
    else {
      config.overrides[r.userId] ??= {};
      config.overrides[r.userId]![r.routeClass] = limit;
    }
  }
  return config;
}

/** Postgres → KV → this isolate's memory. The cron job and the admin sync route call this. */
export async function syncLimits(env: Env, db: Db): Promise<{ defaults: number; overrides: number }> {
  const config = await loadLimitsFromDb(db);
  await env.LIMITS.put(LIMITS_KV_KEY, JSON.stringify(config));
  memory = { config, fetchedAt: Date.now() };
  return { defaults: Object.keys(config.defaults).length, overrides: Object.keys(config.overrides).length };
}

export interface LimitsSource {
  env: Env;
  log: Logger;
  /** Where a background refill from Postgres runs (ctx.waitUntil). */
  background: (p: Promise<unknown>) => void;
  /** Builds a DB handle for the refill (owned and closed by the caller's background task). */
  withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
}

/** The limits as this isolate knows them: memory (fresh) → KV → stale memory → fallback. */
export async function getLimits(s: LimitsSource): Promise<LimitsConfig> {
  const now = Date.now();
  if (memory && now - memory.fetchedAt < MEMORY_TTL_MS) return memory.config;
  let raw: unknown = null;
  try {
    raw = await s.env.LIMITS.get(LIMITS_KV_KEY, 'json');
  } catch (err) {
    s.log.warn('ratelimit.config_kv_failed', errorFields(err));
  }
  const parsed = raw === null ? undefined : ConfigSchema.safeParse(raw);
  if (parsed?.success) {
    memory = { config: parsed.data, fetchedAt: now };
    return parsed.data;
  }
  if (parsed && !parsed.success) s.log.error('ratelimit.config_invalid', { key: LIMITS_KV_KEY });
  // Nothing usable in KV: refill it from Postgres after the response (one attempt at a time per
  // isolate, and not again for REFILL_BACKOFF_MS after a failure).
  if (!refreshing && now >= nextRefillAt) {
    nextRefillAt = now + REFILL_BACKOFF_MS;
    refreshing = s
      .withDb((db) => syncLimits(s.env, db))
      .then(() => {
        nextRefillAt = 0;
      })
      .catch((err) => s.log.warn('ratelimit.config_refill_failed', errorFields(err)))
      .finally(() => {
        refreshing = undefined;
      });
    s.background(refreshing);
  }
  return memory?.config ?? fallbackConfig();
}

/** The limit for this class and caller: the user's override, else the class default, else fallback. */
export function limitFor(config: LimitsConfig, cls: LimitClass, userId?: string): Limit & { source: 'override' | 'default' | 'fallback' } {
  const override = userId ? config.overrides[userId]?.[cls] : undefined;
  if (override) return { ...override, source: 'override' };
  const def = config.defaults[cls];
  if (def) return { ...def, source: 'default' };
  return { ...FALLBACK_LIMITS[cls], source: 'fallback' };
}

/** Tests only: forget the isolate's cached limits. */
export function resetLimitsCache(): void {
  memory = undefined;
  nextRefillAt = 0;
}
