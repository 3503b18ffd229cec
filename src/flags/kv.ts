// KV FLAGS: one key per flag, its value the plain JSON value (what `wrangler kv key put` writes).
// Our own writes also carry KV metadata {rev, updated_at, source}; an operator's put has none
// (a put replaces the metadata), which is how the sync tells our writes from theirs.
import type { FlagKey } from './definitions';
import { type KvMeta, KvMetaSchema } from './merge';

/**
 * How long a KV location may answer from its cache. 30 s is Cloudflare's minimum: a put made in
 * another location reaches this one within KV's own propagation (~60 s) and this bound.
 */
export const KV_CACHE_TTL_S = 30;

/** Request path: every flag in one bulk read, served from the location's cache when warm. */
export async function readFlagTexts(env: Env, keys: readonly FlagKey[]): Promise<Map<string, string | null>> {
  return env.FLAGS.get([...keys], { type: 'text', cacheTtl: KV_CACHE_TTL_S });
}

/** Sync path: one flag with its metadata (no cacheTtl: the sync wants the freshest copy it can get). */
export async function readFlagWithMeta(env: Env, key: FlagKey): Promise<{ text: string | null; meta: KvMeta | null }> {
  const { value, metadata } = await env.FLAGS.getWithMetadata(key, 'text');
  const meta = KvMetaSchema.safeParse(metadata);
  return { text: value, meta: metadata != null && meta.success ? meta.data : null };
}

export async function putFlag(env: Env, key: FlagKey, value: unknown, meta: Required<KvMeta>): Promise<void> {
  await env.FLAGS.put(key, JSON.stringify(value), { metadata: meta });
}

/** Parse a KV text as JSON (an operator may put anything). */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
