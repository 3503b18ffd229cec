// Dead-letter review, redrive and purge: plain functions behind POST /admin/dlq/* and
// `npm run dlq`, for any unit of work (the dashboard calls them too); the actor is a parameter.
// Dead work lives in two ledgers, both shown by vw_dead_letter_queue:
//   source 'discovery': marketplace_discovery_queue rows with status 'error' (id = the job uuid)
//   source 'events':    events_queue rows with status 'error' (id = the bigint): dead queue
//                       messages (payload.dead_key) and malformed outbox rows
// Every redrive and purge commits together with its ai_action_ledger row.

import { recordAction } from '../db/ledger';
import type { Db } from '../db/sql';
import { transaction } from '../db/sql';
import { badRequest } from '../http/errors';
import type { Unit } from '../platform/unit';
import { queueKind } from '../queues/consume';
import { isUuid } from '../util/ids';
import {
  type DeadFilter,
  type DeadLetter,
  type DlqSource,
  deadLetterPage,
  deadLetterTotals,
  deleteDeadEvents,
  deleteDeadJobs,
  lockDeadEvents,
  lockDlqActions,
  markEventsResent,
  requeueOutboxRows,
  reviveDeadJobs,
} from './queries-dlq';
import { relayDiscovery } from './relay';

export type { DeadLetter, DlqSource };

/** Who acts, for the ledger: 'api:service', 'cli', 'dashboard', … and the request it came with. */
export interface DlqActor {
  actor: string;
  requestId?: string;
}

/** Which dead rows: explicit ids (uuid → discovery, integer → events), or all of them. */
export interface DlqSelection {
  ids?: string[];
  all?: boolean;
  /** Restrict `all` (or ids) to one ledger. */
  source?: DlqSource;
  /** Only rows dead for longer than this. */
  olderThanSeconds?: number;
  reason?: string;
}

export async function listDeadLetters(db: Db, opts: { source?: DlqSource; limit?: number; offset?: number } = {}) {
  const [items, totals] = await Promise.all([
    deadLetterPage(db, opts.source ?? null, opts.limit ?? 50, opts.offset ?? 0),
    deadLetterTotals(db),
  ]);
  const total = { discovery: 0, events: 0 };
  for (const t of totals) total[t.source] = t.n;
  return { items, total };
}

interface Resolved extends DeadFilter {
  discovery: boolean;
  events: boolean;
}

function resolve(sel: DlqSelection): Resolved {
  if (!sel.all && !(sel.ids && sel.ids.length > 0)) throw badRequest('ids: give the ids to act on, or all: true');
  const discoveryIds: string[] = [];
  const eventIds: string[] = [];
  (sel.ids ?? []).forEach((id, i) => {
    if (isUuid(id)) discoveryIds.push(id.toLowerCase());
    else if (/^\d{1,18}$/.test(id)) eventIds.push(id);
    else throw badRequest(`ids.${i}: not a dead-letter id (a job uuid or an events_queue id)`);
  });
  const byIds = !sel.all;
  return {
    discoveryIds: byIds ? discoveryIds : null,
    eventIds: byIds ? eventIds : null,
    discovery: sel.source !== 'events' && (!byIds || discoveryIds.length > 0),
    events: sel.source !== 'discovery' && (!byIds || eventIds.length > 0),
    older: sel.olderThanSeconds ?? null,
  };
}

export interface RedriveResult {
  /** Discovery jobs back to 'queued' (attempts reset) and relayed. */
  discovery: number;
  /** Dead jobs left alone: a newer live job exists for the same user and interest. */
  superseded: number;
  /** Dead messages re-sent to the queue they died on. */
  events_resent: number;
  /** Dead outbox rows back to 'queued'. */
  events_requeued: number;
  /** Dead messages whose queue is unknown (left dead). */
  events_unsendable: number;
}

export async function redriveDeadLetters(u: Pick<Unit, 'env' | 'db' | 'log'>, sel: DlqSelection, by: DlqActor): Promise<RedriveResult> {
  const r = resolve(sel);
  const db = u.db();
  const out: RedriveResult = { discovery: 0, superseded: 0, events_resent: 0, events_requeued: 0, events_unsendable: 0 };
  const revived: string[] = [];
  /** The revived jobs' last errors: the rows are cleared, the ledger row keeps them. */
  const lastErrors: Record<string, string | null> = {};
  await transaction(db, async (tx) => {
    await lockDlqActions(tx);
    if (r.discovery) {
      // At most one live job per (user, interest): revive the newest dead one where none is live.
      const res = await reviveDeadJobs(tx, r);
      for (const row of res) {
        if (!row.revived) continue;
        revived.push(row.id);
        if (revived.length <= 100) lastErrors[row.id] = row.last_error;
      }
      out.discovery = revived.length;
      out.superseded = res.length - revived.length;
    }
    if (r.events) {
      const rows = await lockDeadEvents(tx, r);
      const outbox = rows.filter((m) => m.queue === null).map((m) => m.id);
      const byBinding = new Map<Queue, { id: string; body: unknown }[]>();
      for (const m of rows) {
        if (m.queue === null) continue;
        const kind = queueKind(m.queue);
        const binding = kind?.startsWith('events') ? u.env.EVENTS : kind?.startsWith('discovery') ? u.env.DISCOVERY : undefined;
        if (!binding) {
          out.events_unsendable++;
          continue;
        }
        byBinding.set(binding, [...(byBinding.get(binding) ?? []), m]);
      }
      // Send, then mark (in this transaction): a crash in between re-sends next time, never loses.
      const resent: string[] = [];
      for (const [binding, msgs] of byBinding) {
        for (let i = 0; i < msgs.length; i += 100) {
          const chunk = msgs.slice(i, i + 100);
          await binding.sendBatch(chunk.map((m) => ({ body: m.body, contentType: 'json' as const })));
          resent.push(...chunk.map((m) => m.id));
        }
      }
      if (resent.length > 0) await markEventsResent(tx, resent);
      if (outbox.length > 0) await requeueOutboxRows(tx, outbox);
      out.events_resent = resent.length;
      out.events_requeued = outbox.length;
    }
    await recordAction(tx, {
      actor: by.actor,
      action: 'dlq.redrive',
      target: selectionTarget(sel),
      newValue: out,
      reason: sel.reason,
      requestId: by.requestId,
      metadata: {
        ids: sel.ids?.slice(0, 100),
        all: sel.all ?? false,
        older_than_seconds: sel.olderThanSeconds,
        ...(revived.length > 0 ? { last_errors: lastErrors } : {}),
      },
    });
  });
  // Hand the revived jobs to the queue now rather than at the next cron minute; if this fails the
  // cron relays them anyway (they are queued and unrelayed).
  if (revived.length > 0) {
    await relayDiscovery(db, u.env.DISCOVERY, u.log, { jobIds: revived }).catch((err) =>
      u.log.warn('dlq.redrive_relay_deferred', { error: String(err) }),
    );
  }
  u.log.info('dlq.redrive', { actor: by.actor, ...out });
  return out;
}

export interface PurgeResult {
  discovery: number;
  events: number;
}

/** Delete dead rows (the guide's appendix: DELETE FROM marketplace_discovery_queue WHERE status = 'error'). */
export async function purgeDeadLetters(u: Pick<Unit, 'db' | 'log'>, sel: DlqSelection, by: DlqActor): Promise<PurgeResult> {
  const r = resolve(sel);
  const out: PurgeResult = { discovery: 0, events: 0 };
  await transaction(u.db(), async (tx) => {
    await lockDlqActions(tx);
    const purgedIds: string[] = [];
    if (r.discovery) {
      const rows = await deleteDeadJobs(tx, r);
      out.discovery = rows.length;
      purgedIds.push(...rows.map((x) => x.id));
    }
    if (r.events) {
      const rows = await deleteDeadEvents(tx, r);
      out.events = rows.length;
      purgedIds.push(...rows.map((x) => x.id));
    }
    await recordAction(tx, {
      actor: by.actor,
      action: 'dlq.purge',
      target: selectionTarget(sel),
      oldValue: { ...out, ids: purgedIds.slice(0, 100) },
      reason: sel.reason,
      requestId: by.requestId,
      metadata: { all: sel.all ?? false, older_than_seconds: sel.olderThanSeconds },
    });
  });
  u.log.info('dlq.purge', { actor: by.actor, ...out });
  return out;
}

/** How many ids a ledger target names before it says how many more (metadata.ids has up to 100). */
const TARGET_IDS = 20;

/**
 * The ledger target: the ids acted on (`dlq:<id>,<id>`) when the operator named them, so an audit
 * by job id finds the action; `dlq:<source|all>` for a whole ledger.
 */
export function selectionTarget(sel: DlqSelection): string {
  if (sel.all || !sel.ids?.length) return `dlq:${sel.source ?? 'all'}`;
  const ids = sel.ids.map((id) => id.toLowerCase());
  const more = ids.length > TARGET_IDS ? `,+${ids.length - TARGET_IDS} more` : '';
  return `dlq:${ids.slice(0, TARGET_IDS).join(',')}${more}`;
}
