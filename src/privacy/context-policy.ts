// Which keys of a rank request's `context` are logged into learning_events, per surface. The rest
// serve the request and are dropped in the Worker before the event leaves it, so a client that puts
// an email or a location in the context does not store it for the learning retention window.
// Policy v2 takes its context features from the same allowlist (loggedKeys()).
//
//   Postgres rank_context_policies ──cron every minute (syncContextPolicy)──▶ KV LIMITS "context_keys:v1"
//   KV ──read at most every MEMORY_TTL_MS per isolate──▶ isolate memory ──▶ loggedContext()
//
// The rate-limit configuration's pattern (src/ratelimit/config.ts), minus its background refill:
// /v1/rank never touches Postgres, so until this isolate has read KV once nothing is logged (the
// allowlist fails closed), and the cron or POST /admin/context-keys/sync fills KV.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { queryRows } from '../db/sql';
import { errorFields, type Logger } from '../observability/logger';

/** What the seed puts in the '*' row (seeds/0770_privacy.sql); documented in the OpenAPI description. */
export const DEFAULT_LOGGED_KEYS = ['locale', 'platform', 'app_version'] as const;
export const CONTEXT_KEYS_KV_KEY = 'context_keys:v1';
export const MEMORY_TTL_MS = 15_000;
/** A logged value is a scalar: a string up to this many characters, a finite number or a boolean. */
export const MAX_LOGGED_STRING = 128;

const Key = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);

export const ContextPolicyConfig = z.object({
  /** Keys logged on surfaces without a row of their own (the '*' row; none when it is missing). */
  default: z.array(Key),
  surfaces: z.record(z.string(), z.array(Key)),
  /** When Postgres was read (ISO); 'none' before this isolate has read KV. */
  loadedAt: z.string(),
});
export type ContextPolicyConfig = z.infer<typeof ContextPolicyConfig>;

const NOTHING_LOGGED: ContextPolicyConfig = Object.freeze({ default: [], surfaces: {}, loadedAt: 'none' });

const PolicyRow = z.object({ surface: z.string(), logged_keys: z.array(z.string()) });

/** The table as the edge uses it; keys that are not plain identifiers are left out. */
export async function loadContextPolicyFromDb(db: Db): Promise<ContextPolicyConfig> {
  const rows = await queryRows(
    db,
    'privacy.context_policies',
    PolicyRow,
    sql`SELECT surface, logged_keys FROM public.rank_context_policies ORDER BY surface`,
  );
  const valid = (keys: string[]) => [...new Set(keys.filter((k) => Key.safeParse(k).success))].sort();
  const config: ContextPolicyConfig = { default: [], surfaces: {}, loadedAt: new Date().toISOString() };
  for (const r of rows) {
    if (r.surface === '*') config.default = valid(r.logged_keys);
    else config.surfaces[r.surface] = valid(r.logged_keys);
  }
  return config;
}

let memory: { config: ContextPolicyConfig; fetchedAt: number } | undefined;

/** Postgres → KV → this isolate's memory (the cron job and the admin sync route). */
export async function syncContextPolicy(env: Env, db: Db): Promise<{ surfaces: number; default_keys: number }> {
  const config = await loadContextPolicyFromDb(db);
  await env.LIMITS.put(CONTEXT_KEYS_KV_KEY, JSON.stringify(config));
  memory = { config, fetchedAt: Date.now() };
  return { surfaces: Object.keys(config.surfaces).length, default_keys: config.default.length };
}

/** The policy as this isolate knows it: memory (fresh) → KV → stale memory → nothing logged. */
export async function getContextPolicy(env: Env, log: Logger): Promise<ContextPolicyConfig> {
  const now = Date.now();
  if (memory && now - memory.fetchedAt < MEMORY_TTL_MS) return memory.config;
  let raw: unknown = null;
  try {
    raw = await env.LIMITS.get(CONTEXT_KEYS_KV_KEY, 'json');
  } catch (err) {
    log.warn('privacy.context_keys_kv_failed', errorFields(err));
  }
  const parsed = raw === null ? undefined : ContextPolicyConfig.safeParse(raw);
  if (parsed?.success) {
    memory = { config: parsed.data, fetchedAt: now };
    return parsed.data;
  }
  // Missing (before the first sync) or unreadable: keep what this isolate had, else log nothing;
  // ask KV again after MEMORY_TTL_MS, not on every request.
  log.warn(parsed ? 'privacy.context_keys_invalid' : 'privacy.context_keys_missing', { key: CONTEXT_KEYS_KV_KEY });
  memory = { config: memory?.config ?? NOTHING_LOGGED, fetchedAt: now };
  return memory.config;
}

/** The keys logged (and usable as policy features) on a surface. */
export function loggedKeys(config: ContextPolicyConfig, surface: string): readonly string[] {
  return config.surfaces[surface] ?? config.default;
}

const loggable = (v: unknown): boolean =>
  (typeof v === 'string' && v.length <= MAX_LOGGED_STRING) || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';

/**
 * The part of a request context that may be logged: allowlisted keys with scalar values. Anything
 * else (other keys, nested objects, long strings) is dropped; `dropped` counts the keys left out.
 */
export function loggedContext(
  config: ContextPolicyConfig,
  surface: string,
  context: Record<string, unknown> | undefined,
): { context: Record<string, unknown>; dropped: number } {
  const out: Record<string, unknown> = {};
  if (!context) return { context: out, dropped: 0 };
  const keys = loggedKeys(config, surface);
  let dropped = 0;
  for (const [k, v] of Object.entries(context)) {
    if (keys.includes(k) && loggable(v)) out[k] = v;
    else dropped++;
  }
  return { context: out, dropped };
}

/** Tests only: forget the isolate's cached policy. */
export function resetContextPolicyCache(): void {
  memory = undefined;
}
