// Read one flag: KV FLAGS first (the edge copy), Postgres feature_flags when KV has nothing.
// An invalid stored value yields the default and an error log, never an exception.
import type { Db } from '../db/client';
import type { Logger } from '../observability/logger';
import { flagDefaults, flagSchemas, type FlagKey, type FlagValues } from './definitions';

export type FlagSource = 'kv' | 'db' | 'default';

export async function readFlag<K extends FlagKey>(
  env: Env,
  db: () => Db,
  log: Logger,
  key: K,
): Promise<{ value: FlagValues[K]; source: FlagSource }> {
  let raw: unknown = await env.FLAGS.get(key, 'json');
  let source: FlagSource = 'kv';
  if (raw === null) {
    const rows = await db().query<{ value: unknown }>('SELECT value FROM public.feature_flags WHERE key = $1', [key]);
    raw = rows[0]?.value ?? null;
    source = 'db';
  }
  if (raw === null) return { value: flagDefaults[key], source: 'default' };
  const parsed = flagSchemas[key].safeParse(raw);
  if (!parsed.success) {
    log.error('flags.invalid_value', { key, source });
    return { value: flagDefaults[key], source: 'default' };
  }
  return { value: parsed.data as FlagValues[K], source };
}
