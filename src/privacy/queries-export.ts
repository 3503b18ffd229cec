// The export's reads (export.ts assembles the document): everything held about one user, each
// statement filtered by the user id. They run as the Worker's role, not under RLS, because some
// of these tables have no user-facing policy (auth.users, learning_rewards); the routes pass only
// the caller's own id (from the verified token) or, for the service role, the id in the path.
// The large parts are read in pages, keyset-paginated (after = the previous page's last key).
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/sql';
import { col, nullable, queryMaybe, queryRows } from '../db/sql';

const UserRow = z.object({
  id: col.uuid,
  email: nullable.text,
  created_at: col.isoTime,
  last_seen_at: nullable.isoTime,
  claims: col.json,
});

export const userRow = (db: Db, userId: string) =>
  queryMaybe(
    db,
    'export.user',
    UserRow,
    sql`SELECT id::text, email, created_at, last_seen_at, raw_claims AS claims FROM auth.users WHERE id = ${userId}::uuid`,
  );

const InterestRow = z.object({
  interest_id: col.uuid,
  name: col.text,
  affinity: col.number,
  created_at: col.isoTime,
  updated_at: col.isoTime,
});

export const interests = (db: Db, userId: string) =>
  queryRows(
    db,
    'export.interests',
    InterestRow,
    sql`
    SELECT ui.interest_id::text, ic.name, ui.affinity, ui.created_at, ui.updated_at
      FROM public.user_interests ui JOIN public.interest_catalog ic ON ic.id = ui.interest_id
     WHERE ui.user_id = ${userId}::uuid
     ORDER BY ui.affinity DESC, ui.interest_id`,
  );

const SuggestionRow = z.object({
  candidate_id: col.uuid,
  title: col.text,
  url: nullable.text,
  category_name: col.text,
  interest_name: col.text,
  score: col.number,
});

/** What GET /v1/me/suggestions would show (derived from the interests; at most 50). */
export const suggestions = (db: Db, userId: string) =>
  queryRows(
    db,
    'export.suggestions',
    SuggestionRow,
    sql`
    SELECT candidate_id::text, title, url, category_name, interest_name, score
      FROM public.marketplace_suggestions_for_user(${userId}::uuid, 50)`,
  );

const OverrideRow = z.object({ route_class: col.text, max_requests: col.number, window_seconds: col.number, updated_at: col.isoTime });

export const limitOverrides = (db: Db, userId: string) =>
  queryRows(
    db,
    'export.limit_overrides',
    OverrideRow,
    sql`
    SELECT route_class, max_requests, window_seconds, updated_at
      FROM public.rate_limits WHERE user_id = ${userId}::uuid ORDER BY route_class`,
  );

// ------------------------------------------------------------------------------ paged parts

// Every column is qualified by its table: the output columns carry the same names as text
// (id::text AS id), and a bare ORDER BY id would sort by the text ("10" < "9") while the keyset
// compares the bigint, skipping rows.
// The paged parts' time columns are exact (microseconds, UTC): they are half of the keyset cursor,
// and a millisecond ISO string would repeat rows that share the millisecond.
const EXACT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const exactTime = z.string().regex(EXACT_TIME);
const exact = (column: string) => sql.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

const SignalRow = z.object({
  id: col.text,
  kind: col.text,
  interest_id: nullable.uuid,
  strength: col.number,
  context: col.json,
  created_at: exactTime,
});

const EventRow = z.object({
  id: col.text,
  ts: exactTime,
  surface: col.text,
  policy: col.text,
  decision_id: nullable.uuid,
  candidate_id: col.text,
  position: nullable.number,
  score: nullable.number,
  p_exp: col.number,
  explored: col.bool,
  reward: nullable.number,
  context: col.json,
});

const RewardRow = z.object({
  decision_id: col.uuid,
  candidate_id: col.text,
  reward: col.number,
  received_at: col.isoTime,
  applied_at: nullable.isoTime,
});

const JobRow = z.object({
  id: col.uuid,
  interest_id: col.uuid,
  topic: col.text,
  status: col.text,
  attempts: col.number,
  last_error: nullable.text,
  created_at: col.isoTime,
  updated_at: col.isoTime,
  processed_at: nullable.isoTime,
  dead_at: nullable.isoTime,
});

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const EPOCH = '1970-01-01T00:00:00.000000Z';

export interface PagedPart<R> {
  /** Rows after the key `after` (undefined: from the start), in key order, at most `limit`. */
  read(db: Db, userId: string, after: readonly string[] | undefined, limit: number): Promise<R[]>;
  /** The keyset cursor of a row. */
  key(row: R): string[];
  /** What a cursor's key must look like: a forged one is a 400, never a failed cast (500). */
  cursor: z.ZodType<string[]>;
}

const bigintId = z.string().regex(/^\d{1,18}$/);

// Signals and learning events are paged by (time, id), the order of their (user_id, time) indexes:
// a page reads its rows from the index instead of sorting all of the user's rows.
const signals: PagedPart<z.output<typeof SignalRow>> = {
  read: (db, userId, after, limit) => {
    const [t, id] = [after?.[0] ?? EPOCH, after?.[1] ?? '0'];
    return queryRows(
      db,
      'export.signals',
      SignalRow,
      sql`
      SELECT s.id::text, s.kind, s.interest_id::text, s.strength, s.context, ${exact('s.created_at')} AS created_at
        FROM public.intent_signals s
       WHERE s.user_id = ${userId}::uuid AND s.created_at >= ${t}::timestamptz AND (s.created_at, s.id) > (${t}::timestamptz, ${id}::bigint)
       ORDER BY s.created_at, s.id LIMIT ${limit}`,
    );
  },
  key: (r) => [r.created_at, r.id],
  cursor: z.tuple([exactTime, bigintId]),
};

const learningEvents: PagedPart<z.output<typeof EventRow>> = {
  read: (db, userId, after, limit) => {
    const [t, id] = [after?.[0] ?? EPOCH, after?.[1] ?? '0'];
    return queryRows(
      db,
      'export.learning_events',
      EventRow,
      sql`
      SELECT le.id::text, ${exact('le.ts')} AS ts, le.surface, le.policy, le.decision_id::text, le.candidate_id, le."position", le.score,
             le.p_exp, le.explored, le.reward, le.context
        FROM public.learning_events le
       WHERE le.user_id = ${userId}::uuid AND le.ts >= ${t}::timestamptz AND (le.ts, le.id) > (${t}::timestamptz, ${id}::bigint)
       ORDER BY le.ts, le.id LIMIT ${limit}`,
    );
  },
  key: (r) => [r.ts, r.id],
  cursor: z.tuple([exactTime, bigintId]),
};

const rewards: PagedPart<z.output<typeof RewardRow>> = {
  read: (db, userId, after, limit) =>
    queryRows(
      db,
      'export.rewards',
      RewardRow,
      sql`
      SELECT r.decision_id::text, r.candidate_id, r.reward, r.received_at, r.applied_at FROM public.learning_rewards r
       WHERE r.user_id = ${userId}::uuid AND (r.decision_id, r.candidate_id) > (${after?.[0] ?? NIL_UUID}::uuid, ${after?.[1] ?? ''}::text)
       ORDER BY r.decision_id, r.candidate_id LIMIT ${limit}`,
    ),
  key: (r) => [r.decision_id, r.candidate_id],
  cursor: z.tuple([z.guid(), z.string().max(128)]),
};

const discoveryJobs: PagedPart<z.output<typeof JobRow>> = {
  read: (db, userId, after, limit) =>
    queryRows(
      db,
      'export.discovery_jobs',
      JobRow,
      sql`
      SELECT q.id::text, q.interest_id::text, q.topic, q.status, q.attempts, q.last_error, q.created_at, q.updated_at, q.processed_at,
             q.dead_at
        FROM public.marketplace_discovery_queue q
       WHERE q.user_id = ${userId}::uuid AND q.id > ${after?.[0] ?? NIL_UUID}::uuid ORDER BY q.id LIMIT ${limit}`,
    ),
  key: (r) => [r.id],
  cursor: z.tuple([z.guid()]),
};

/** The parts that can grow large, in document order. */
export const PAGED_PART_NAMES = ['signals', 'learning_events', 'rewards', 'discovery_jobs'] as const;
export type PagedPartName = (typeof PAGED_PART_NAMES)[number];
export const PAGED_PARTS: Record<PagedPartName, PagedPart<unknown>> = {
  signals,
  learning_events: learningEvents,
  rewards,
  discovery_jobs: discoveryJobs,
};
