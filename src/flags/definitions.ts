// The flags the guide defines, each with its zod schema and built-in default (used when neither
// KV nor Postgres has a valid value). Values are the JSON objects stored in feature_flags.value.
import { z } from 'zod';

const enabled = z.object({ enabled: z.boolean() }).passthrough();

export const flagSchemas = {
  'global.safe_mode': enabled,
  'ranker.policy': z
    .object({ version: z.string().min(1), epsilon: z.number().min(0).max(1) })
    .passthrough(),
  'marketplace.suggest': enabled,
  'learning.enabled': enabled,
  'crush_mode.enabled': enabled,
} as const;

export type FlagKey = keyof typeof flagSchemas;
export type FlagValues = { [K in FlagKey]: z.infer<(typeof flagSchemas)[K]> };
export const FLAG_KEYS = Object.keys(flagSchemas) as FlagKey[];

/** Fail-safe defaults: what the system does when it cannot read a flag at all. */
export const flagDefaults: FlagValues = {
  'global.safe_mode': { enabled: false },
  'ranker.policy': { version: 'epsilon_greedy_v1', epsilon: 0.08 },
  'marketplace.suggest': { enabled: true },
  'learning.enabled': { enabled: true },
  'crush_mode.enabled': { enabled: false },
};

export const isFlagKey = (k: string): k is FlagKey => k in flagSchemas;
