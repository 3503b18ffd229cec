// The flags as the rest of the code sees them: one evaluated object per caller.
// Callers use evaluateFlags() and nothing else from src/flags; how values are cached, synced and
// rolled out (memory → KV → Postgres, percentage buckets) is the flag store's business.
import type { Db } from '../db/client';
import type { Logger } from '../observability/logger';
import type { FlagKey, FlagValues } from './definitions';
import { FLAG_KEYS } from './definitions';
import { readFlag } from './read';

export interface EvaluatedFlags {
  /** Abort switch: epsilon 0, deterministic fallback slates, p_exp 0, explored false. */
  safeMode: boolean;
  /** Policy to rank with (version and epsilon; epsilon is 0 in safe mode). */
  policy: { version: string; epsilon: number };
  /** Learning-event logging on. */
  learning: boolean;
  /** Marketplace suggestions on. */
  suggest: boolean;
  /** Client feature flag, passed through. */
  crushMode: boolean;
  /** Every flag's value as evaluated for this caller (what GET /v1/flags returns). */
  values: FlagValues;
}

export interface FlagContext {
  env: Env;
  db: () => Db;
  log: Logger;
  /** The caller, for percentage rollouts; undefined for anonymous callers. */
  userId?: string;
}

export function toEvaluated(values: FlagValues): EvaluatedFlags {
  const safeMode = values['global.safe_mode'].enabled;
  return {
    safeMode,
    policy: { version: values['ranker.policy'].version, epsilon: safeMode ? 0 : values['ranker.policy'].epsilon },
    learning: values['learning.enabled'].enabled,
    suggest: values['marketplace.suggest'].enabled,
    crushMode: values['crush_mode.enabled'].enabled,
    values,
  };
}

export async function evaluateFlags(c: FlagContext): Promise<EvaluatedFlags> {
  const entries = await Promise.all(
    FLAG_KEYS.map(async (key) => [key, (await readFlag(c.env, c.db, c.log, key)).value] as const),
  );
  return toEvaluated(Object.fromEntries(entries) as { [K in FlagKey]: FlagValues[K] });
}
