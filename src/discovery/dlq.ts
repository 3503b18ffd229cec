// Dead-letter review, redrive and purge: plain functions behind POST /admin/dlq/* and
// `npm run dlq`, for any caller with an env and a db (the dashboard calls them too).
// Dead work lives in two ledgers, both shown by vw_dead_letter_queue:
//   source 'discovery': marketplace_discovery_queue rows with status 'error' (id = the job uuid)
//   source 'events':    events_queue rows with status 'error' (id = the bigint): dead queue
//                       messages (payload.dead_key) and malformed outbox rows
// Every redrive and purge commits together with its ai_action_ledger row.
import { sql } from 'drizzle-orm';
import { rowsOf, type Db, type Tx } from '../db/client';
import { recordActionTx } from '../db/ledger';
import { badRequest } from '../lib/errors';
import { isUuid } from '../lib/ids';
import type { Logger } from '../observability/logger';
import { queueKind } from '../queues';
import { relayDiscovery } from './relay';

export type DlqSource = 'discovery' | 'events';

export interface DlqContext {
  env: Env;
  db: () => Db;
  log: Logger;
  /** Who acts: 'api:service', 'cli', 'dashboard', … */
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

export interface DeadLetter {
  source: DlqSource;
  id: string;
  topic: string;
  user_id: string | null;
  interest_id: string | null;
  interest_name: string | null;
  attempts: number;
  last_error: string | null;
  dead_since: string;
  created_at: string;
}

export async function listDeadLetters(db: Db, opts: { source?: DlqSource; limit?: number; offset?: number } = {}) {
  const source = opts.source ?? null;
  const [items, totals] = await Promise.all([
    db.query<DeadLetter>(
      `SELECT source, id, topic, user_id, interest_id, interest_name, attempts, last_error, dead_since, created_at
         FROM public.vw_dead_letter_queue WHERE ($1::text IS NULL OR source = $1) LIMIT $2 OFFSET $3`,
      [source, opts.limit ?? 50, opts.offset ?? 0],
    ),
    db.query<{ source: DlqSource; n: number }>(
      'SELECT source, count(*)::int AS n FROM public.vw_dead_letter_queue GROUP BY source',
    ),
  ]);
  const total = { discovery: 0, events: 0 };
  for (const t of totals) total[t.source] = t.n;
  return { items, total };
}

interface Resolved {
  discoveryIds: string[] | null;
  eventIds: string[] | null;
  discovery: boolean;
  events: boolean;
  older: number | null;
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

const deadDiscovery = (r: Resolved) => sql`q.status = 'error'
  AND (${sql.param(r.discoveryIds)}::uuid[] IS NULL OR q.id = ANY(${sql.param(r.discoveryIds)}::uuid[]))
  AND (${r.older}::int IS NULL OR coalesce(q.dead_at, q.updated_at) < now() - make_interval(secs => ${r.older}::int))`;

const deadEvents = (r: Resolved) => sql`e.status = 'error'
  AND (${sql.param(r.eventIds)}::bigint[] IS NULL OR e.id = ANY(${sql.param(r.eventIds)}::bigint[]))
  AND (${r.older}::int IS NULL OR coalesce(e.dead_at, e.updated_at) < now() - make_interval(secs => ${r.older}::int))`;

/** Serialises DLQ actions: two redrives racing could otherwise revive two jobs of one interest. */
const lock = (tx: Tx) => tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('dlq-actions'))`);

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

export async function redriveDeadLetters(c: DlqContext, sel: DlqSelection): Promise<RedriveResult> {
  const r = resolve(sel);
  const db = c.db();
  const out: RedriveResult = { discovery: 0, superseded: 0, events_resent: 0, events_requeued: 0, events_unsendable: 0 };
  const revived: string[] = [];
  await db.orm.transaction(async (tx) => {
    await lock(tx);
    if (r.discovery) {
      // At most one live job per (user, interest): revive the newest dead one where none is live.
      const res = rowsOf<{ id: string; revived: boolean }>(await tx.execute(sql`
        WITH dead AS (
          SELECT q.id, q.user_id, q.interest_id,
                 row_number() OVER (PARTITION BY q.user_id, q.interest_id ORDER BY q.created_at DESC, q.id) AS rn
            FROM public.marketplace_discovery_queue q WHERE ${deadDiscovery(r)}
        ), revive AS (
          UPDATE public.marketplace_discovery_queue q
             SET status = 'queued', attempts = 0, dead_at = NULL, lease_token = NULL,
                 lease_expires_at = NULL, relayed_at = NULL, processed_at = NULL
            FROM dead d
           WHERE q.id = d.id AND q.status = 'error' AND d.rn = 1
             AND NOT EXISTS (SELECT 1 FROM public.marketplace_discovery_queue l
                              WHERE l.user_id IS NOT DISTINCT FROM d.user_id AND l.interest_id = d.interest_id
                                AND l.status IN ('queued', 'processing'))
          RETURNING q.id
        )
        SELECT d.id, d.id IN (SELECT id FROM revive) AS revived FROM dead d`));
      for (const row of res) (row.revived ? revived : []).push(row.id);
      out.discovery = revived.length;
      out.superseded = res.length - revived.length;
    }
    if (r.events) {
      const rows = rowsOf<{ id: string; queue: string | null; body: unknown }>(await tx.execute(sql`
        SELECT e.id::text AS id, e.payload ->> 'queue' AS queue, e.payload -> 'body' AS body
          FROM public.events_queue e WHERE ${deadEvents(r)}
         ORDER BY e.id FOR UPDATE`));
      const outbox = rows.filter((m) => m.queue === null).map((m) => m.id);
      const byBinding = new Map<Queue, { id: string; body: unknown }[]>();
      for (const m of rows) {
        if (m.queue === null) continue;
        const kind = queueKind(m.queue);
        const binding = kind?.startsWith('events') ? c.env.EVENTS : kind?.startsWith('discovery') ? c.env.DISCOVERY : undefined;
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
      if (resent.length > 0) {
        await tx.execute(sql`UPDATE public.events_queue SET status = 'done', processed_at = now()
                              WHERE id = ANY(${sql.param(resent)}::bigint[])`);
      }
      if (outbox.length > 0) {
        await tx.execute(sql`UPDATE public.events_queue SET status = 'queued', dead_at = NULL, relayed_at = NULL
                              WHERE id = ANY(${sql.param(outbox)}::bigint[])`);
      }
      out.events_resent = resent.length;
      out.events_requeued = outbox.length;
    }
    await recordActionTx(tx, {
      actor: c.actor, action: 'dlq.redrive', target: selectionTarget(sel), newValue: out, reason: sel.reason,
      requestId: c.requestId, metadata: { ids: sel.ids?.slice(0, 100), all: sel.all ?? false, older_than_seconds: sel.olderThanSeconds },
    });
  });
  // Hand the revived jobs to the queue now rather than at the next cron minute; if this fails the
  // cron relays them anyway (they are queued and unrelayed).
  if (revived.length > 0) {
    await relayDiscovery(db, c.env.DISCOVERY, c.log, { jobIds: revived }).catch((err) =>
      c.log.warn('dlq.redrive_relay_deferred', { error: String(err) }));
  }
  c.log.info('dlq.redrive', { actor: c.actor, ...out });
  return out;
}

export interface PurgeResult {
  discovery: number;
  events: number;
}

/** Delete dead rows (the guide's appendix: DELETE FROM marketplace_discovery_queue WHERE status = 'error'). */
export async function purgeDeadLetters(c: DlqContext, sel: DlqSelection): Promise<PurgeResult> {
  const r = resolve(sel);
  const out: PurgeResult = { discovery: 0, events: 0 };
  await c.db().orm.transaction(async (tx) => {
    await lock(tx);
    const purgedIds: string[] = [];
    if (r.discovery) {
      const rows = rowsOf<{ id: string }>(await tx.execute(sql`
        DELETE FROM public.marketplace_discovery_queue q WHERE ${deadDiscovery(r)} RETURNING q.id`));
      out.discovery = rows.length;
      purgedIds.push(...rows.map((x) => x.id));
    }
    if (r.events) {
      const rows = rowsOf<{ id: string }>(await tx.execute(sql`
        DELETE FROM public.events_queue e WHERE ${deadEvents(r)} RETURNING e.id::text AS id`));
      out.events = rows.length;
      purgedIds.push(...rows.map((x) => x.id));
    }
    await recordActionTx(tx, {
      actor: c.actor, action: 'dlq.purge', target: selectionTarget(sel), oldValue: { ...out, ids: purgedIds.slice(0, 100) },
      reason: sel.reason, requestId: c.requestId,
      metadata: { all: sel.all ?? false, older_than_seconds: sel.olderThanSeconds },
    });
  });
  c.log.info('dlq.purge', { actor: c.actor, ...out });
  return out;
}

function selectionTarget(sel: DlqSelection): string {
  return `dlq:${sel.source ?? 'all'}`;
}
