// Load every flag from the edge copy: KV FLAGS first (one bulk read), Postgres feature_flags only
// for keys KV has nothing for (a fresh namespace before the first sync). A value that is not
// valid JSON or fails its zod schema never reaches a request: the last good value this isolate
// saw (or the built-in default) is used instead, an error is logged, and the flag's load error is
// kept for GET /v1/flags?details=true (reason ERROR, details.ts).
import type { Db } from '../db/sql';
import { zodIssues } from '../http/errors';
import { errorFields, type Logger } from '../observability/logger';
import { withTimeout } from '../util/time';
import { defaultFlag, FLAG_KEYS, type FlagKey, type ParsedFlag, parseFlag } from './definitions';
import { parseJsonText, readFlagTexts } from './kv';
import { readFlagValues } from './queries';

export type FlagSource = 'kv' | 'db' | 'last_good' | 'default';

/** Why a stored value was not used, as OpenFeature error codes (details.ts). */
export interface FlagError {
  code: 'PARSE_ERROR' | 'TYPE_MISMATCH' | 'GENERAL';
  message: string;
}
export type ParsedFlags = { [K in FlagKey]: ParsedFlag<K> };

export interface LoadedFlags {
  flags: ParsedFlags;
  sources: Record<FlagKey, FlagSource>;
  /** Why a flag fell back to its last good value or default (absent: it loaded, or is absent everywhere). */
  errors: Partial<Record<FlagKey, FlagError>>;
}

/** Bounds the KV-empty fallback: a hung database must not hang every request of the isolate. */
const DB_TIMEOUT_MS = 2_000;

export async function loadFlags(env: Env, db: () => Db, log: Logger, lastGood: Partial<ParsedFlags>): Promise<LoadedFlags> {
  const flags = {} as Record<FlagKey, ParsedFlag>;
  const sources = {} as Record<FlagKey, FlagSource>;
  const errors: LoadedFlags['errors'] = {};
  const fallback = (key: FlagKey, error?: FlagError) => {
    const good = lastGood[key];
    flags[key] = good ?? defaultFlag(key);
    sources[key] = good ? 'last_good' : 'default';
    if (error) errors[key] = error;
  };
  const accept = (key: FlagKey, raw: unknown, from: 'kv' | 'db') => {
    const parsed = parseFlag(key, raw);
    if (parsed.success) {
      flags[key] = parsed.data;
      sources[key] = from;
    } else {
      const issues = zodIssues(parsed.error);
      log.error('flags.invalid_value', { key, source: from, issues });
      const first = issues[0];
      const where = first ? `${first.path}: ${first.message}` : 'invalid';
      fallback(key, { code: 'TYPE_MISMATCH', message: `the value in ${from} does not match the flag's schema (${where})` });
    }
  };

  let texts: Map<string, string | null>;
  try {
    texts = await readFlagTexts(env, FLAG_KEYS);
  } catch (err) {
    // KV failing is not "KV has nothing": keep serving what we know rather than load Postgres.
    log.error('flags.kv_unavailable', errorFields(err));
    for (const key of FLAG_KEYS) fallback(key, { code: 'GENERAL', message: 'KV FLAGS unavailable' });
    return { flags: flags as ParsedFlags, sources, errors };
  }

  const missing: FlagKey[] = [];
  for (const key of FLAG_KEYS) {
    const text = texts.get(key) ?? null;
    if (text === null) {
      missing.push(key);
      continue;
    }
    const json = parseJsonText(text);
    if (json.ok) accept(key, json.value, 'kv');
    else {
      log.error('flags.invalid_value', { key, source: 'kv', issues: [{ path: '(root)', message: 'not JSON', code: 'invalid_json' }] });
      fallback(key, { code: 'PARSE_ERROR', message: 'the value in kv is not JSON' });
    }
  }

  if (missing.length > 0) {
    log.warn('flags.kv_missing', { keys: missing });
    try {
      const rows = await withTimeout(Promise.resolve(readFlagValues(db(), missing)), DB_TIMEOUT_MS, 'flags db read');
      const byKey = new Map<string, unknown>(rows.map((r) => [r.key, r.value]));
      for (const key of missing) {
        if (byKey.has(key)) accept(key, byKey.get(key), 'db');
        else fallback(key);
      }
    } catch (err) {
      log.error('flags.db_unavailable', errorFields(err));
      for (const key of missing) fallback(key, { code: 'GENERAL', message: 'Postgres unavailable (KV holds no value)' });
    }
  }
  return { flags: flags as ParsedFlags, sources, errors };
}
