// Worker entry used only by bench/rank.ts: the production Worker (queues, crons, Durable Objects)
// with the bench baseline routes (bench/worker/baseline.ts) mounted beside the real ones.
import { createApp, RESOURCES } from '../../src/app';
import worker from '../../src/index';
import { benchRoutes } from './baseline';

const app = createApp([...RESOURCES, benchRoutes]);

export default { ...worker, fetch: app.fetch } satisfies ExportedHandler<Env>;

export { RateLimiter } from '../../src/ratelimit/rate-limiter';
