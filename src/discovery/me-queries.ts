// The caller's own discovery data (/v1/me/*): interests, intent signals, suggestions. Every
// function runs inside withUserTransaction (src/db/user-transaction.ts), so auth.uid() is the
// caller and Postgres RLS limits each statement to their rows.
import { inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { interestCatalog } from '../db/schema';
import type { Db } from '../db/sql';
import { col, execute, nullable, queryOne, queryRows } from '../db/sql';

/** Which of these ids are catalog interests (ids as stored: lower case). */
export async function catalogInterestIds(tx: Db, ids: string[]): Promise<Set<string>> {
  const rows = await tx.select({ id: interestCatalog.id }).from(interestCatalog).where(inArray(interestCatalog.id, ids));
  return new Set(rows.map((r) => r.id));
}

const InterestRow = z.object({ interest_id: col.uuid, name: col.text, affinity: col.number, updated_at: col.text });
export type InterestRow = z.infer<typeof InterestRow>;

/** The caller's interests, strongest first; updated_at already as an ISO 'Z' string (milliseconds). */
export function listInterests(tx: Db): Promise<InterestRow[]> {
  return queryRows(
    tx,
    'me.interests',
    InterestRow,
    sql`
    SELECT ui.interest_id, ic.name, ui.affinity, to_char(ui.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
      FROM public.user_interests ui JOIN public.interest_catalog ic ON ic.id = ui.interest_id
     WHERE ui.user_id = auth.uid()
     ORDER BY ui.affinity DESC, ui.interest_id`,
  );
}

/**
 * Serialise this caller's interest writes (inside their transaction, before anything is read): two
 * concurrent replacements would otherwise interleave their deletes and upserts and store the union
 * of both lists, or deadlock. Other users are not blocked (the key is the user id's hash; a hash
 * collision only serialises two users' writes).
 */
export function lockCallerInterests(tx: Db): Promise<void> {
  return execute(tx, sql`SELECT pg_advisory_xact_lock(hashtextextended('user_interests:' || auth.uid()::text, 0))`);
}

const ReplaceRow = z.object({ changed: z.array(col.uuid), removed: z.array(col.uuid) });
export type InterestChanges = z.infer<typeof ReplaceRow>;

/**
 * Replace the caller's interests with these (ids lower case, each once): drop the unlisted ones,
 * upsert the listed ones (an unchanged affinity is not rewritten, so its updated_at stays). Returns
 * the interests added or whose affinity changed, and those removed.
 */
export function replaceInterests(tx: Db, interests: { interest_id: string; affinity: number }[]): Promise<InterestChanges> {
  const ids = interests.map((x) => x.interest_id);
  return queryOne(
    tx,
    'me.replace_interests',
    ReplaceRow,
    sql`
    WITH removed AS (
      DELETE FROM public.user_interests
       WHERE user_id = auth.uid() AND interest_id <> ALL(${sql.param(ids)}::uuid[])
      RETURNING interest_id
    ), changed AS (
      INSERT INTO public.user_interests AS ui (user_id, interest_id, affinity)
      SELECT auth.uid(), r.interest_id, r.affinity FROM jsonb_to_recordset(${JSON.stringify(interests)}::jsonb) AS r(interest_id uuid, affinity real)
      ON CONFLICT (user_id, interest_id) DO UPDATE SET affinity = EXCLUDED.affinity
       WHERE ui.affinity IS DISTINCT FROM EXCLUDED.affinity
      RETURNING interest_id
    )
    SELECT coalesce((SELECT array_agg(interest_id ORDER BY interest_id) FROM changed), '{}') AS changed,
           coalesce((SELECT array_agg(interest_id ORDER BY interest_id) FROM removed), '{}') AS removed`,
  );
}

/** How many interests the caller has (inside the transaction, after its own writes). */
export async function countInterests(tx: Db): Promise<number> {
  const { n } = await queryOne(
    tx,
    'me.count_interests',
    z.object({ n: col.number }),
    sql`
    SELECT count(*)::int AS n FROM public.user_interests WHERE user_id = auth.uid()`,
  );
  return n;
}

/** enqueue_discovery_for_interests: a job per listed interest without a live job, plus their outbox row. */
export async function enqueueDiscoveryFor(tx: Db, interestIds: string[]): Promise<number> {
  if (interestIds.length === 0) return 0;
  const { n } = await queryOne(
    tx,
    'me.enqueue_discovery',
    z.object({ n: nullable.number }),
    sql`
    SELECT public.enqueue_discovery_for_interests(auth.uid(), ${sql.param(interestIds)}::uuid[]) AS n`,
  );
  return n ?? 0;
}

/** cancel_discovery_for_interests: delete the queued jobs of these interests; returns how many. */
export async function cancelDiscoveryFor(tx: Db, interestIds: string[]): Promise<number> {
  if (interestIds.length === 0) return 0;
  const { n } = await queryOne(
    tx,
    'me.cancel_discovery',
    z.object({ n: nullable.number }),
    sql`
    SELECT public.cancel_discovery_for_interests(auth.uid(), ${sql.param(interestIds)}::uuid[]) AS n`,
  );
  return n ?? 0;
}

export interface SignalInput {
  kind: string;
  interest_id?: string;
  strength: number;
  context?: Record<string, unknown>;
}

/** Store the caller's signals; returns how many rows were written. */
export async function insertSignals(tx: Db, signals: SignalInput[]): Promise<number> {
  const { n } = await queryOne(
    tx,
    'me.insert_signals',
    z.object({ n: col.number }),
    sql`
    WITH ins AS (
      INSERT INTO public.intent_signals (user_id, interest_id, kind, strength, context)
      SELECT auth.uid(), r.interest_id, r.kind, r.strength, coalesce(r.context, '{}'::jsonb)
        FROM jsonb_to_recordset(${JSON.stringify(signals)}::jsonb) AS r(interest_id uuid, kind text, strength real, context jsonb)
      RETURNING 1)
    SELECT count(*)::int AS n FROM ins`,
  );
  return n;
}

/** A row of marketplace_suggestions_for_user, in its column order (the API returns it as is). */
const SuggestionRow = z.object({
  candidate_id: col.uuid,
  title: col.text,
  url: nullable.text,
  category_id: col.uuid,
  category_name: col.text,
  interest_id: col.uuid,
  interest_name: col.text,
  affinity: col.number,
  candidate_score: col.number,
  score: col.number,
});
export type SuggestionRow = z.infer<typeof SuggestionRow>;

export function suggestionsFor(tx: Db, limit: number): Promise<SuggestionRow[]> {
  return queryRows(
    tx,
    'me.suggestions',
    SuggestionRow,
    sql`
    SELECT * FROM public.marketplace_suggestions_for_user(auth.uid(), ${limit}::int)`,
  );
}

export async function hasInterests(tx: Db): Promise<boolean> {
  const { any } = await queryOne(
    tx,
    'me.has_interests',
    z.object({ any: col.bool }),
    sql`
    SELECT EXISTS (SELECT 1 FROM public.user_interests WHERE user_id = auth.uid()) AS any`,
  );
  return any;
}
