// Our flag details → OpenFeature resolution details, shared by the web and the server provider.
//
// Our flags are JSON objects; OpenFeature asks for a type. The conventions:
//   boolean  a boolean value, or an object's boolean `enabled` (every on/off flag is {enabled})
//   string   a string value          number  a number value
//   object   any JSON object or array (e.g. ranker.policy → {version, epsilon})
// Anything else is TYPE_MISMATCH. Whenever the answer is an error (the API unreachable, the key not
// in the answer, the Worker's own ERROR for the flag, a type mismatch), the caller's default comes
// back with reason ERROR and the error code: a provider never throws into the app.
import { ErrorCode, type FlagValue, type ResolutionDetails, StandardResolutionReasons } from '@openfeature/core';
import type { WireFlagDetails } from './wire';

export type FlagType = 'boolean' | 'string' | 'number' | 'object';

const REASONS: Record<string, string> = {
  STATIC: StandardResolutionReasons.STATIC,
  TARGETING_MATCH: StandardResolutionReasons.TARGETING_MATCH,
  DEFAULT: StandardResolutionReasons.DEFAULT,
  ERROR: StandardResolutionReasons.ERROR,
};

const ERROR_CODES: Record<string, ErrorCode> = {
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  GENERAL: ErrorCode.GENERAL,
};

const failed = <T>(defaultValue: T, errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> => ({
  value: defaultValue,
  reason: StandardResolutionReasons.ERROR,
  errorCode,
  errorMessage,
});

/** The value as the requested type, or undefined when it is not of that type. */
export function coerce(value: unknown, type: FlagType): FlagValue | undefined {
  switch (type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'object' && value !== null && typeof (value as { enabled?: unknown }).enabled === 'boolean') {
        return (value as { enabled: boolean }).enabled;
      }
      return undefined;
    case 'string':
    case 'number':
      return typeof value === type ? (value as string | number) : undefined;
    case 'object':
      return typeof value === 'object' && value !== null ? (value as FlagValue) : undefined;
  }
}

/**
 * Resolve one flag from the last answer of the API. `details` undefined: no answer yet (the API
 * unreachable); `failure` says why.
 */
export function resolveFlag<T extends FlagValue>(
  details: WireFlagDetails | undefined,
  flagKey: string,
  defaultValue: T,
  type: FlagType,
  failure = 'no answer from GET /v1/flags yet',
): ResolutionDetails<T> {
  if (!details) return failed(defaultValue, ErrorCode.GENERAL, failure);
  const d = Object.hasOwn(details, flagKey) ? details[flagKey] : undefined;
  if (!d) return failed(defaultValue, ErrorCode.FLAG_NOT_FOUND, `flag ${flagKey} is not in GET /v1/flags`);
  if (d.reason === 'ERROR') {
    const code = (d.errorCode && ERROR_CODES[d.errorCode]) || ErrorCode.GENERAL;
    return failed(defaultValue, code, d.errorMessage ?? `flag ${flagKey}: ${d.errorCode ?? 'error'}`);
  }
  const value = coerce(d.value, type);
  if (value === undefined) return failed(defaultValue, ErrorCode.TYPE_MISMATCH, `flag ${flagKey} is not a ${type}`);
  return {
    value: value as T,
    reason: REASONS[d.reason] ?? StandardResolutionReasons.UNKNOWN,
    ...(d.variant === undefined ? {} : { variant: d.variant }),
  };
}
