// Cron job (every minute): copy public.rate_limits to KV LIMITS, where the request path reads it.
import type { Job } from '../platform/job';
import { syncLimits } from './config';

export const rateLimitSync: Job = {
  name: 'ratelimit-sync',
  run: ({ env, db }) => syncLimits(env, db()),
};
