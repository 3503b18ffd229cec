// Discovery's cron jobs. Per minute: requeue rows whose lease expired (stuck work), then relay
// every queued job to the DISCOVERY queue — the same run is available on demand as
// POST /functions/v1/rocker-discovery-run. Nightly: retention of intent signals and of finished
// queue rows (the DLQ, status error, is left to operators).
import { recordAction } from '../db/ledger';
import { gcInBatches } from '../db/retention';
import type { Job } from '../platform/job';
import type { Unit } from '../platform/unit';
import { requeueExpiredLeases } from './jobs';
import { type RelayResult, relayDiscovery } from './relay';

export interface UpkeepOptions {
  /** Who runs it, for the ledger: 'cron:discovery-relay', 'api:service', 'cli'. */
  actor: string;
  requestId?: string;
  /** Stop starting new relay batches after this long. */
  budgetMs?: number;
}

export async function runDiscoveryUpkeep(
  u: Pick<Unit, 'env' | 'db' | 'log'>,
  opts: UpkeepOptions,
): Promise<RelayResult & { requeued: number }> {
  const db = u.db();
  const requeued = await requeueExpiredLeases(db);
  if (requeued.length > 0) {
    // Stuck work being put back is an automatic action an operator wants to see.
    await recordAction(db, {
      actor: opts.actor,
      action: 'queue.requeue_expired',
      target: 'marketplace_discovery_queue',
      newValue: { requeued: requeued.length, ids: requeued.slice(0, 100) },
      reason: 'lease expired',
      requestId: opts.requestId,
    });
    u.log.warn('discovery.requeued_expired', { count: requeued.length });
  }
  const relay = await relayDiscovery(db, u.env.DISCOVERY, u.log, { budgetMs: opts.budgetMs });
  return { requeued: requeued.length, ...relay };
}

export const discoveryRelayJob: Job = {
  name: 'discovery-relay',
  pausable: true,
  run: (c) => runDiscoveryUpkeep(c, { actor: 'cron:discovery-relay' }),
};

export const gcIntentSignals: Job = {
  name: 'gc-intent-signals',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'intent_signals', 'gc_intent_signals'),
};

/** Finished discovery/outbox jobs past retention; the DLQ (status error) is left to operators. */
export const gcQueueDone: Job = {
  name: 'gc-queue-done',
  pausable: true,
  run: (c) => gcInBatches(c.db(), 'marketplace_discovery_queue', 'gc_queue_done'),
};
