// Worker entry: HTTP (Hono), Queue consumers, Cron Triggers, and the Durable Object classes.
import { createApp } from './app';
import { handleScheduled } from './cron';
import { withCronMetrics, withQueueMetrics } from './observability/worker-metrics';
import { handleQueue } from './queues';

const app = createApp();

export default {
  fetch: app.fetch,
  queue: withQueueMetrics(handleQueue),
  scheduled: withCronMetrics(handleScheduled),
} satisfies ExportedHandler<Env>;

export { RateLimiter } from './ratelimit/rate-limiter';
