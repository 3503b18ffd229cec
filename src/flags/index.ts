// The flags as the rest of the code sees them: one evaluated object per caller.
// Callers use evaluateFlags() and nothing else from src/flags; how values are cached, synced and
// rolled out is the flag store's business:
//   isolate memory (MEMORY_TTL_MS) → KV FLAGS (cacheTtl) → Postgres feature_flags (KV empty only)
// With a warm isolate an evaluation is a few property reads (plus one hash per flag that carries a
// rollout, for signed-in callers): no I/O at all. See bench/flags.ts.
import type { Unit } from '../platform/unit';
import type { FlagKey, FlagValues } from './definitions';
import { deepFreeze, FLAG_KEYS } from './definitions';
import { type FlagDetails, flagDetail } from './details';
import { type FlagSource, type LoadedFlags, loadFlags, type ParsedFlags } from './read';
import { bucket, evaluateFlag, inRollout } from './rollout';

export type { FlagKey, FlagValues } from './definitions';
export type { FlagDetail, FlagDetails, FlagErrorCode, FlagReason } from './details';
export type { FlagSource } from './read';

/** How long an isolate serves flags from memory before it reads KV again. */
export const MEMORY_TTL_MS = 5_000;

export interface RolloutMembership {
  percent: number;
  /** The caller's bucket 0–99 for this flag; null for anonymous callers (never in a rollout). */
  bucket: number | null;
  in: boolean;
}

/** Read-only: the object (and its values) may be shared by every request of the isolate, and is frozen. */
export interface EvaluatedFlags {
  /** Abort switch: epsilon 0, deterministic fallback slates, p_exp 0, explored false. */
  safeMode: boolean;
  /** Policy to rank with (version and epsilon; epsilon is 0 in safe mode). */
  policy: { version: string; epsilon: number };
  /** Learning-event logging on (`learning.enabled`). */
  learning: boolean;
  /** Marketplace suggestions on (`marketplace.suggest`). */
  suggest: boolean;
  /** Client feature flag, passed through. */
  crushMode: boolean;
  /**
   * The ranker's contract, derived here once so no handler re-derives safe mode (guide §3):
   * slates 'fallback' = deterministic popular + recent + global slates; explore false ⇒ every item
   * has explored = false; logPropensities false ⇒ p_exp = 0 in every logged event.
   */
  ranking: { slates: 'policy' | 'fallback'; explore: boolean; logPropensities: boolean };
  /** Why suggestions are off (the reason to return with an empty list); null when they are on. */
  suggestDisabledReason: string | null;
  /** Every flag's value as evaluated for this caller (what GET /v1/flags returns). */
  values: FlagValues;
  /** Where each flag's value came from in this isolate ('kv' normally). */
  sources: Record<FlagKey, FlagSource>;
  /** The caller's membership of every rollout in progress (for logs and decisions). */
  rollouts: Partial<Record<FlagKey, RolloutMembership>>;
  /** Per flag: value, variant and OpenFeature reason (GET /v1/flags?details=true). */
  details: FlagDetails;
}

/** What reading flags needs of the unit of work (the database only when KV has nothing). */
export type FlagReader = Pick<Unit, 'env' | 'db' | 'log'>;

const ALL_KV = Object.fromEntries(FLAG_KEYS.map((k) => [k, 'kv'])) as Record<FlagKey, FlagSource>;

export function toEvaluated(
  values: FlagValues,
  extra: { sources?: Record<FlagKey, FlagSource>; rollouts?: EvaluatedFlags['rollouts']; details?: FlagDetails } = {},
): EvaluatedFlags {
  const safeMode = values['global.safe_mode'].enabled;
  const epsilon = safeMode ? 0 : values['ranker.policy'].epsilon;
  const suggest = values['marketplace.suggest'].enabled;
  return {
    safeMode,
    policy: { version: values['ranker.policy'].version, epsilon },
    learning: values['learning.enabled'].enabled,
    suggest,
    crushMode: values['crush_mode.enabled'].enabled,
    ranking: { slates: safeMode ? 'fallback' : 'policy', explore: epsilon > 0, logPropensities: !safeMode },
    suggestDisabledReason: suggest ? null : 'marketplace suggestions are disabled (flag marketplace.suggest)',
    values,
    sources: extra.sources ?? ALL_KV,
    rollouts: extra.rollouts ?? {},
    details: extra.details ?? detailsOf(values, extra.sources ?? ALL_KV, {}, []),
  };
}

/** Details of every flag from how it was loaded; `rolloutKeys` are the flags a rollout decided. */
function detailsOf(
  values: FlagValues,
  sources: Record<FlagKey, FlagSource>,
  errors: LoadedFlags['errors'],
  rolloutKeys: readonly FlagKey[],
): FlagDetails {
  const out = {} as Record<FlagKey, unknown>;
  for (const key of FLAG_KEYS) {
    out[key] = flagDetail(key, values[key], { source: sources[key], error: errors[key], rollout: rolloutKeys.includes(key) });
  }
  return out as FlagDetails;
}

interface Snapshot {
  loaded: LoadedFlags;
  expiresAt: number;
  /** What anonymous callers (and everyone, while no rollout is running) get: built once. */
  base: EvaluatedFlags;
  rolloutKeys: FlagKey[];
}

// Module scope holds only this request-independent cache (DESIGN.md §2). Refreshes are not
// shared between concurrent requests on purpose: workerd forbids awaiting I/O started by another
// request, and an isolate refreshes at most once per TTL per concurrent request anyway.
let current: Snapshot | undefined;
const lastGood: Partial<ParsedFlags> = {};

function buildSnapshot(loaded: LoadedFlags, now: number): Snapshot {
  const values = {} as Record<FlagKey, unknown>;
  const rollouts: EvaluatedFlags['rollouts'] = {};
  const rolloutKeys: FlagKey[] = [];
  for (const key of FLAG_KEYS) {
    const flag = loaded.flags[key];
    values[key] = flag.base;
    if (loaded.sources[key] === 'kv' || loaded.sources[key] === 'db') (lastGood as Record<FlagKey, unknown>)[key] = flag;
    if (flag.rollout) {
      rolloutKeys.push(key);
      rollouts[key] = { percent: flag.rollout.percent, bucket: null, in: false };
    }
  }
  // Anonymous callers are never in a rollout: for them the rollout decided too (TARGETING_MATCH).
  const details = detailsOf(values as FlagValues, loaded.sources, loaded.errors, rolloutKeys);
  const base = deepFreeze(toEvaluated(values as FlagValues, { sources: loaded.sources, rollouts, details }));
  return { loaded, expiresAt: now + MEMORY_TTL_MS, base, rolloutKeys };
}

async function snapshot(c: FlagReader): Promise<Snapshot> {
  const now = Date.now();
  if (current && now < current.expiresAt) return current;
  current = buildSnapshot(await loadFlags(c.env, c.db, c.log, lastGood), Date.now());
  return current;
}

/**
 * Every flag for one caller. `userId` places the caller in percentage rollouts; anonymous callers
 * (undefined) get base values.
 */
export async function evaluateFlags(c: FlagReader, userId?: string): Promise<EvaluatedFlags> {
  const snap = await snapshot(c);
  if (userId === undefined || snap.rolloutKeys.length === 0) return snap.base;
  const values = { ...snap.base.values } as Record<FlagKey, unknown>;
  const details = { ...snap.base.details } as Record<FlagKey, unknown>;
  const rollouts: EvaluatedFlags['rollouts'] = {};
  const { sources, errors } = snap.loaded;
  for (const key of snap.rolloutKeys) {
    const flag = snap.loaded.flags[key];
    const b = bucket(key, userId);
    values[key] = evaluateFlag(key, flag, userId);
    details[key] = flagDetail(key, values[key] as FlagValues[typeof key], { source: sources[key], error: errors[key], rollout: true });
    rollouts[key] = { percent: flag.rollout!.percent, bucket: b, in: inRollout(flag.rollout!.percent, b) };
  }
  return toEvaluated(values as FlagValues, { sources, rollouts, details: details as FlagDetails });
}

/** Forget the memory snapshot, so this isolate's next evaluation reads KV (after our own writes). */
export function invalidateFlagCache(): void {
  current = undefined;
}

/** Tests: forget the snapshot and every last good value. */
export function resetFlagCache(): void {
  current = undefined;
  for (const k of FLAG_KEYS) delete lastGood[k];
}
