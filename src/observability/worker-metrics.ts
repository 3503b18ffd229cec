// Metrics for the Worker's non-HTTP entry points, recorded the same way as requests (histograms
// per operation through the isolate collector and the EVENTS queue):
//   queue.<events|discovery>.lag   enqueue → delivery to our consumer, per message (Queue lag)
//   cron.<job>                     duration of each cron job (observed in runJobs, src/cron/run.ts)
// Batches made only of metrics messages are not observed: measuring their lag would produce a
// metrics message per batch, which would be consumed, measured, shipped… forever.

import { queueKind } from '../queues/consume';
import { topicOf } from '../queues/dead-letters';
import { isolateMetrics } from './collector';
import { createLogger } from './logger';

type QueueHandler = (batch: MessageBatch, env: Env, ctx: ExecutionContext) => Promise<void>;
type ScheduledHandler = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => Promise<void>;

export function observeQueueLag(batch: MessageBatch, nowMs = Date.now(), collector = isolateMetrics.collector): number {
  const kind = queueKind(batch.queue);
  if (kind !== 'events' && kind !== 'discovery') return 0;
  let observed = 0;
  for (const m of batch.messages) {
    if (topicOf(m.body).startsWith('metrics.')) continue;
    collector.observe(`queue.${kind}.lag`, Math.max(0, nowMs - m.timestamp.getTime()), false);
    observed++;
  }
  return observed;
}

export function withQueueMetrics(handler: QueueHandler): QueueHandler {
  return async (batch, env, ctx) => {
    observeQueueLag(batch);
    try {
      await handler(batch, env, ctx);
    } finally {
      isolateMetrics.schedule(env, (p) => ctx.waitUntil(p), createLogger({ queue: batch.queue }));
    }
  };
}

/** Ship what the cron's jobs observed (their durations, anything they timed) when the run ends. */
export function withCronMetrics(handler: ScheduledHandler): ScheduledHandler {
  return async (controller, env, ctx) => {
    try {
      await handler(controller, env, ctx);
    } finally {
      isolateMetrics.schedule(env, (p) => ctx.waitUntil(p), createLogger({ cron: controller.cron }));
    }
  };
}
