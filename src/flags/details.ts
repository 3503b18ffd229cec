// Why a caller got each flag value, in OpenFeature's vocabulary (GET /v1/flags?details=true and
// the providers in clients/typescript/src/openfeature/). The reason is recorded where the value is
// decided (the load in read.ts, the rollout in index.ts) and only named here, never re-derived
// from the values afterwards: two flags with equal values can have different reasons.
//
//   STATIC           a stored value (KV or Postgres), no rollout on it
//   TARGETING_MATCH  the flag carries a percentage rollout and the caller's bucket (or being
//                    anonymous: never in a rollout) decided which value they get
//   DEFAULT          neither KV nor Postgres holds the flag: the registry's documented default
//   ERROR            the stored value could not be used (errorCode says why); the value is the one
//                    the Worker itself runs with: this isolate's last good value, else the default
import type { FlagKey, FlagValues } from './definitions';
import type { FlagError, FlagSource } from './read';
import { FLAGS } from './registry';

export const FLAG_REASONS = ['STATIC', 'TARGETING_MATCH', 'DEFAULT', 'ERROR'] as const;
export type FlagReason = (typeof FLAG_REASONS)[number];

/**
 * OpenFeature's error codes. The Worker reports PARSE_ERROR (not JSON), TYPE_MISMATCH (JSON that
 * fails the flag's schema) and GENERAL (KV or Postgres unreachable); FLAG_NOT_FOUND is the
 * providers' answer for a key absent from the response.
 */
export const FLAG_ERROR_CODES = ['PARSE_ERROR', 'TYPE_MISMATCH', 'FLAG_NOT_FOUND', 'GENERAL'] as const;
export type FlagErrorCode = (typeof FLAG_ERROR_CODES)[number];

export interface FlagDetail<K extends FlagKey = FlagKey> {
  value: FlagValues[K];
  variant?: string;
  reason: FlagReason;
  errorCode?: FlagErrorCode;
  errorMessage?: string;
}

export type FlagDetails = { [K in FlagKey]: FlagDetail<K> };

/** The variant's name: the registry's own namer, else on/off for an `enabled` flag. */
export function variantOf<K extends FlagKey>(key: K, value: FlagValues[K]): string | undefined {
  const def = FLAGS[key] as { variant?: (v: unknown) => string };
  if (def.variant) return def.variant(value);
  const enabled = (value as { enabled?: unknown }).enabled;
  return typeof enabled === 'boolean' ? (enabled ? 'on' : 'off') : undefined;
}

/** How the load ended for one flag and whether a rollout chose among its values. */
export interface Decision {
  source: FlagSource;
  error?: FlagError;
  rollout: boolean;
}

export function flagDetail<K extends FlagKey>(key: K, value: FlagValues[K], d: Decision): FlagDetail<K> {
  const variant = variantOf(key, value);
  const named = variant === undefined ? {} : { variant };
  if (d.error) return { value, ...named, reason: 'ERROR', errorCode: d.error.code, errorMessage: d.error.message };
  if (d.source === 'default') return { value, ...named, reason: 'DEFAULT' };
  return { value, ...named, reason: d.rollout ? 'TARGETING_MATCH' : 'STATIC' };
}
