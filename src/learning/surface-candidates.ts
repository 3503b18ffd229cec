// Candidates registered for a surface (public.surface_candidates, migration 0700). Together with
// the catalog (marketplace_candidates) they are the candidates the platform knows: the only ones
// whose impressions and rewards enter the shared statistics (learning_candidate_stats) and the
// surface pools hydrate-features publishes. A client may rank any id; an unknown one is served
// and logged, and moves nothing another user's slate reads.
//
// Registration takes effect at the next rollup (*/5): events rolled up before it are not counted
// retroactively. Unregistering drops the candidate from the surface's pools and learned scores at
// the next hydrate-features; its statistics stay (and count again if it is registered again).
// Every change is one transaction with its ai_action_ledger row.
import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import { recordAction } from '../db/ledger';
import { surfaceCandidates } from '../db/schema';
import type { Db } from '../db/sql';
import { transaction } from '../db/sql';

export interface RegisteredCandidate {
  candidate_id: string;
  registered_at: string;
  registered_by: string | null;
}

export interface CandidateWriteMeta {
  actor: string;
  reason?: string;
  requestId?: string;
}

const t = surfaceCandidates;

/** One page of a surface's registered candidates, by id (keyset pagination: `after` = last id seen). */
export async function listSurfaceCandidates(
  db: Db,
  surface: string,
  page: { after?: string; limit: number },
): Promise<RegisteredCandidate[]> {
  const rows = await db
    .select({ candidate_id: t.candidateId, registeredAt: t.registeredAt, registered_by: t.registeredBy })
    .from(t)
    .where(page.after === undefined ? eq(t.surface, surface) : and(eq(t.surface, surface), gt(t.candidateId, page.after)))
    .orderBy(asc(t.candidateId))
    .limit(page.limit);
  return rows.map(({ registeredAt, ...r }) => ({ ...r, registered_at: registeredAt.toISOString() }));
}

export interface RegisterResult {
  surface: string;
  /** Newly registered ids. */
  registered: string[];
  /** Ids that were registered already (nothing changed for them). */
  already: string[];
}

export async function registerCandidates(
  db: Db,
  surface: string,
  ids: readonly string[],
  meta: CandidateWriteMeta,
): Promise<RegisterResult> {
  const unique = [...new Set(ids)];
  return transaction(db, async (tx) => {
    const added = await tx
      .insert(t)
      .values(unique.map((candidateId) => ({ surface, candidateId, registeredBy: meta.actor })))
      .onConflictDoNothing()
      .returning({ id: t.candidateId });
    const registered = added.map((r) => r.id).sort();
    const fresh = new Set(registered);
    const already = unique.filter((id) => !fresh.has(id)).sort();
    if (registered.length > 0) {
      await recordAction(tx, {
        actor: meta.actor,
        action: 'surface_candidates.register',
        target: surface,
        oldValue: null,
        newValue: { registered },
        reason: meta.reason,
        requestId: meta.requestId,
        metadata: { already: already.length },
      });
    }
    return { surface, registered, already };
  });
}

export interface UnregisterResult {
  surface: string;
  /** Ids that were registered and are not any more. */
  unregistered: string[];
  /** Ids that were not registered (nothing changed for them). */
  absent: string[];
}

export async function unregisterCandidates(
  db: Db,
  surface: string,
  ids: readonly string[],
  meta: CandidateWriteMeta,
): Promise<UnregisterResult> {
  const unique = [...new Set(ids)];
  return transaction(db, async (tx) => {
    const removed = await tx
      .delete(t)
      .where(and(eq(t.surface, surface), inArray(t.candidateId, unique)))
      .returning({ id: t.candidateId, registeredAt: t.registeredAt, registeredBy: t.registeredBy });
    const unregistered = removed.map((r) => r.id).sort();
    const gone = new Set(unregistered);
    const absent = unique.filter((id) => !gone.has(id)).sort();
    if (removed.length > 0) {
      await recordAction(tx, {
        actor: meta.actor,
        action: 'surface_candidates.unregister',
        target: surface,
        oldValue: { registered: removed.map((r) => ({ candidate_id: r.id, registered_by: r.registeredBy })) },
        newValue: null,
        reason: meta.reason,
        requestId: meta.requestId,
      });
    }
    return { surface, unregistered, absent };
  });
}
