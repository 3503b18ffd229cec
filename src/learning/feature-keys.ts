// KV FEATURES keys and document schemas (hydrate-features writes them, /v1/rank reads them).
// Versioned prefix: a future layout can be written beside this one before readers switch.
import { z } from 'zod';

export const FEATURE_KEYS = {
  global: 'features:v1:global',
  surface: (surface: string) => `features:v1:surface:${surface}`,
  interest: (interestId: string) => `features:v1:interest:${interestId}`,
  user: (userId: string) => `features:v1:user:${userId}`,
};

const ids = z.array(z.string());
const numberMap = z.record(z.string(), z.number());

export const SurfaceDoc = z.object({
  surface: z.string(),
  generated_at: z.string(),
  mean_reward: z.number(),
  stats: z.record(z.string(), z.tuple([z.number(), z.number()])),
  pools: z.object({ popular: ids, recent: ids }),
});

export const GlobalDoc = z.object({
  generated_at: z.string(),
  pools: z.object({ global: ids, recent: ids }),
  priors: numberMap,
});

export const InterestDoc = z.object({
  interest_id: z.string(),
  generated_at: z.string(),
  pool: ids,
  priors: numberMap,
});

export const UserDoc = z.object({
  user_id: z.string(),
  interests: z.array(z.object({ id: z.string(), affinity: z.number() })),
});
