// Per-minute discovery upkeep: requeue rows whose lease expired (stuck work), then relay every
// queued job to the DISCOVERY queue. The same run is available on demand as
// POST /functions/v1/rocker-discovery-run.
import type { Db } from '../db/client';
import { recordAction } from '../db/ledger';
import { requeueExpiredLeases } from '../discovery/jobs';
import { relayDiscovery, type RelayResult } from '../discovery/relay';
import type { Logger } from '../observability/logger';
import type { Job } from './index';

export interface DiscoveryRunContext {
  env: Env;
  db: () => Db;
  log: Logger;
  /** Who runs it, for the ledger: 'cron:discovery-relay', 'api:service', 'cli'. */
  actor: string;
  requestId?: string;
}

export async function runDiscoveryUpkeep(c: DiscoveryRunContext, opts: { budgetMs?: number } = {}): Promise<RelayResult & { requeued: number }> {
  const db = c.db();
  const requeued = await requeueExpiredLeases(db);
  if (requeued.length > 0) {
    // Stuck work being put back is an automatic action an operator wants to see.
    await recordAction(db, {
      actor: c.actor, action: 'queue.requeue_expired', target: 'marketplace_discovery_queue',
      newValue: { requeued: requeued.length, ids: requeued.slice(0, 100) },
      reason: 'lease expired', requestId: c.requestId,
    });
    c.log.warn('discovery.requeued_expired', { count: requeued.length });
  }
  const relay = await relayDiscovery(db, c.env.DISCOVERY, c.log, { budgetMs: opts.budgetMs });
  return { requeued: requeued.length, ...relay };
}

export const discoveryRelayJob: Job = {
  name: 'discovery-relay',
  pausable: true,
  run: (c) => runDiscoveryUpkeep({ env: c.env, db: c.db, log: c.log, actor: 'cron:discovery-relay' }),
};
