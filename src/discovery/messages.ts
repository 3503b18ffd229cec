// The DISCOVERY queue's message: one per discovery job (a marketplace_discovery_queue row), so
// ack, retry and dead-lettering act on exactly one job. The ledger row holds the job's data; the
// message only names it.
import { z } from 'zod';

export const DISCOVERY_JOB = 'discovery.job';

/** Ledger topics the discovery handler processes (the queue-worker route accepts these). */
export const DISCOVERY_TOPIC = /^discovery\.[a-z0-9][a-z0-9._-]{0,99}$/;

export const DiscoveryJobMessage = z.object({
  type: z.literal(DISCOVERY_JOB),
  job_id: z.guid(),
  topic: z.string().max(100).optional(),
  /**
   * The job's generation when this message was sent (migration 0760): a message of an older chain
   * (the job was relayed again, leased by queue-worker or redriven since) is stale and changes
   * nothing. Absent on messages sent before 0760 or by hand: then not checked.
   */
  gen: z.number().int().nonnegative().optional(),
  /**
   * TEST ONLY, honoured only when DISCOVERY_FAULT_INJECTION=on (ignored in production): simulate
   * the consumer dying right after leasing this job on the given delivery attempt.
   */
  test_fault: z.object({ crash_on_attempt: z.number().int().min(1) }).optional(),
});
export type DiscoveryJobMessage = z.infer<typeof DiscoveryJobMessage>;

export function jobMessage(jobId: string, topic: string, gen?: number): DiscoveryJobMessage {
  return gen === undefined ? { type: DISCOVERY_JOB, job_id: jobId, topic } : { type: DISCOVERY_JOB, job_id: jobId, topic, gen };
}
