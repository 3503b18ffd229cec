// @edge-discovery/client: the typed client of the edge-discovery API. Standard fetch only: browsers,
// Node 20+ and Workers. The types are generated (npm run client:generate), never written by hand.
export { createEdgeClient, type EdgeClient, type EdgeClientOptions, type EdgeMethod } from './client';
export { EdgeApiError, type ErrorEnvelope, retryAfterSeconds } from './errors';
export { type RetryPolicy, retryingFetch } from './retry';
export type { components, operations, paths } from './schema';

import type { components } from './schema';

/** The API's named schemas: `Schemas['RankResponse']`, `Schemas['RewardRequest']`, … */
export type Schemas = components['schemas'];
