// Job routes of the guide (service key):
//   POST /functions/v1/queue-worker {topic, limit, ttl} — lease up to `limit` rows of the topic with
//     a ttl-second lease (FOR UPDATE SKIP LOCKED: concurrent callers take disjoint rows) and run them
//     now with the consumer's own job handler → {"processed": N, "errors": M}   (guide §2F)
//   POST /functions/v1/rocker-discovery-run — the per-minute upkeep now: requeue expired leases and
//     relay queued jobs to the DISCOVERY queue.
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { leaseByTopic, runLeasedJobs } from '../discovery/jobs';
import { DISCOVERY_TOPIC } from '../discovery/messages';
import { runDiscoveryUpkeep } from '../discovery/upkeep';
import { runOnDemand } from '../platform/job-run';
import { createRouter, defineRoute } from '../platform/route';

const QueueWorkerBody = z
  .object({
    topic: z
      .string()
      .regex(DISCOVERY_TOPIC, 'no handler for this topic (discovery.* topics only)')
      .openapi({ example: 'discovery.user-signup' }),
    limit: z.number().int().min(1).max(200).default(20).openapi({ example: 20 }),
    ttl: z.number().int().min(5).max(3600).default(120).openapi({ description: 'lease seconds', example: 120 }),
  })
  .strict()
  .openapi('QueueWorkerRequest');

const QueueWorkerResult = z
  .object({ processed: z.number().int(), errors: z.number().int() })
  .openapi('QueueWorkerResult', { example: { processed: 3, errors: 0 } });

const UpkeepResult = z
  .object({
    requeued: z.number().int().openapi({ description: 'rows whose lease had expired, back to queued' }),
    relayed: z.number().int().openapi({ description: 'jobs sent to the DISCOVERY queue' }),
    outbox_done: z.number().int(),
    outbox_malformed: z.number().int(),
  })
  .openapi('DiscoveryRunResult');

const json = <T extends z.ZodTypeAny>(schema: T) => ({ content: { 'application/json': { schema } } });

export const discoveryJobRoutes = createRouter();

defineRoute(
  discoveryJobRoutes,
  {
    method: 'post',
    path: '/functions/v1/queue-worker',
    access: 'service',
    limitClass: 'job',
    maxBodyBytes: 4096,
    tags: ['jobs'],
    summary: 'Lease and process discovery jobs now (guide §2F)',
    description:
      "Leases up to `limit` rows of `topic` (queued, or with an expired lease) for `ttl` seconds and processes them with the DISCOVERY consumer's handler. Failed rows keep attempts and last_error and go back to queued; after 6 attempts they are dead (status error).",
    request: { body: { required: true, ...json(QueueWorkerBody) } },
    responses: { 200: { description: 'How many jobs were processed and how many failed', ...json(QueueWorkerResult) } },
  },
  async (c) => {
    const { topic, limit, ttl } = c.req.valid('json');
    const { unit } = c.var;
    const db = unit.db();
    const jobs = await leaseByTopic(db, topic, limit, ttl);
    const outcomes = await runLeasedJobs(db, jobs, 'worker');
    let processed = 0;
    let errors = 0;
    for (const job of jobs) {
      const outcome = outcomes.get(job.id);
      if (outcome?.kind === 'done') processed++;
      else if (outcome?.kind === 'failed') {
        errors++;
        unit.log.warn('discovery.job_failed', { job_id: job.id, attempts: job.attempts, dead: outcome.dead, error: outcome.error });
      }
    }
    unit.log.info('queue_worker.run', { topic, leased: jobs.length, processed, errors });
    return c.json({ processed, errors }, 200);
  },
);

defineRoute(
  discoveryJobRoutes,
  {
    method: 'post',
    path: '/functions/v1/rocker-discovery-run',
    access: 'service',
    limitClass: 'job',
    tags: ['jobs'],
    summary: 'Run the discovery upkeep now: requeue expired leases, relay queued jobs to the DISCOVERY queue',
    responses: { 200: { description: 'What the run did', ...json(UpkeepResult) } },
  },
  async (c) => {
    const { unit } = c.var;
    const actor = serviceActor(c);
    const result = await runOnDemand(unit, { job: 'discovery-relay', route: 'POST /functions/v1/rocker-discovery-run', actor }, () =>
      runDiscoveryUpkeep(unit, { actor, requestId: unit.id }),
    );
    return c.json(result, 200);
  },
);
