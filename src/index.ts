// Worker entry and composition root: the HTTP app (routes: src/app.ts), the queue consumers
// (message types: src/consumers.ts), the Cron Triggers (jobs: src/jobs.ts), and the Durable
// Object classes.
import { createApp } from './app';
import { consumers } from './consumers';
import { createScheduledHandler } from './cron/run';
import { schedules } from './jobs';
import { withCronMetrics, withQueueMetrics } from './observability/worker-metrics';
import { jobsPaused } from './ops/pause';
import { createQueueHandler } from './queues/consume';

const app = createApp();

export default {
  fetch: app.fetch,
  queue: withQueueMetrics(createQueueHandler(consumers)),
  scheduled: withCronMetrics(createScheduledHandler({ schedules, isPaused: (unit) => jobsPaused(unit.db()) })),
} satisfies ExportedHandler<Env>;

export { RateLimiter } from './ratelimit/rate-limiter';
