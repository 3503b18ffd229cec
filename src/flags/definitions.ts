// The flags' schemas and defaults, derived from the one registry (registry.ts). Values are the
// JSON objects stored in feature_flags.value and, byte for byte the same JSON, in KV FLAGS under
// the flag's key.
//
// Any flag value may carry a percentage rollout (the canary, guide §5):
//   {"enabled": true, "rollout": {"percent": 5, "value": {"enabled": false}}}
// reads "safe mode on, except off for 5 % of users". `rollout.value` is merged over the base value
// (so it may name only the fields it changes) and the merged result must itself be valid.
// Users whose bucket (src/flags/rollout.ts) is below `percent` get the merged value; everyone
// else, and anonymous callers, get the base value.
import { z } from 'zod';
import { FLAGS, type FlagKey } from './registry';

export type { FlagKey };

type Schemas = { [K in FlagKey]: (typeof FLAGS)[K]['schema'] };
export const flagSchemas = Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, f.schema])) as Schemas;

/** Evaluated values (what a caller sees): never carry a `rollout`. */
export type FlagValues = { [K in FlagKey]: z.infer<Schemas[K]> };
export const FLAG_KEYS = Object.keys(FLAGS) as FlagKey[];

/** Parsed values are shared by every request of an isolate: frozen so no caller can alter them. */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** Fail-safe defaults: what the system does when it cannot read a flag at all (the registry's). */
export const flagDefaults: FlagValues = deepFreeze(
  Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, structuredClone(f.default)])) as FlagValues,
);

export const isFlagKey = (k: string): k is FlagKey => Object.hasOwn(flagSchemas, k);

export const RolloutSchema = z
  .object({
    /** Share of users (by bucket 0–99) who get `value`: 0 nobody, 100 everybody. */
    percent: z.number().int().min(0).max(100),
    /** Fields merged over the base value for users in the rollout. */
    value: z.record(z.string(), z.unknown()),
  })
  .strict();

/** A stored flag value, parsed: the base value and, when present, the rollout's merged value. */
export interface ParsedFlag<K extends FlagKey = FlagKey> {
  base: FlagValues[K];
  rollout?: { percent: number; value: FlagValues[K] };
}

function buildParser<K extends FlagKey>(key: K) {
  const base = flagSchemas[key] as unknown as z.ZodType<FlagValues[K]>;
  return z
    .object({ rollout: RolloutSchema.optional() })
    .passthrough()
    .transform((raw, ctx): ParsedFlag<K> => {
      const { rollout, ...rest } = raw;
      const parsedBase = base.safeParse(rest);
      if (!parsedBase.success) {
        for (const issue of parsedBase.error.issues) ctx.addIssue({ ...issue });
        return z.NEVER;
      }
      if (!rollout) return deepFreeze({ base: parsedBase.data });
      if ('rollout' in rollout.value) {
        ctx.addIssue({ code: 'custom', message: 'a rollout cannot contain another rollout', path: ['rollout', 'value', 'rollout'] });
        return z.NEVER;
      }
      const merged = base.safeParse({ ...parsedBase.data, ...rollout.value });
      if (!merged.success) {
        for (const issue of merged.error.issues) ctx.addIssue({ ...issue, path: ['rollout', 'value', ...issue.path] });
        return z.NEVER;
      }
      return deepFreeze({ base: parsedBase.data, rollout: { percent: rollout.percent, value: merged.data } });
    });
}

/** Per key: the zod schema of a stored value (base fields plus an optional rollout). */
export const storedFlagSchemas = Object.fromEntries(FLAG_KEYS.map((k) => [k, buildParser(k)])) as {
  [K in FlagKey]: ReturnType<typeof buildParser<K>>;
};

export function parseFlag<K extends FlagKey>(key: K, raw: unknown) {
  return storedFlagSchemas[key].safeParse(raw) as z.ZodSafeParseResult<ParsedFlag<K>>;
}

/** The built-in default as a parsed flag (no rollout). */
export const defaultFlag = <K extends FlagKey>(key: K): ParsedFlag<K> => ({ base: flagDefaults[key] });
