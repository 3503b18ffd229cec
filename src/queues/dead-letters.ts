// The dead-letter ledger: messages that cannot be processed (malformed, unknown type, or out of
// retries) are written to events_queue with status 'error', so they show in vw_dead_letter_queue
// and can be redriven or purged by operators. Nothing is dropped silently.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/sql';
import { execute } from '../db/sql';

const UUID_RE = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export interface DeadMessage {
  queue: string;
  messageId: string;
  body: unknown;
  attempts: number;
  error: string;
}

export function topicOf(body: unknown): string {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type.length <= 100 ? type : 'unknown';
}

/**
 * One INSERT for the whole set; idempotent on (queue, message id) via the payload's dead_key. A
 * message naming an erased user (a `user_id` at any depth, with a live tombstone) is not recorded:
 * the erasure outranks the dead-letter record.
 */
export async function recordDeadMessages(db: Db, dead: DeadMessage[]): Promise<void> {
  if (dead.length === 0) return;
  const rows = dead.map((d) => ({
    topic: topicOf(d.body),
    payload: { dead_key: `${d.queue}:${d.messageId}`, queue: d.queue, message_id: d.messageId, body: d.body },
    attempts: d.attempts,
    last_error: d.error.slice(0, 2000),
  }));
  await execute(
    db,
    sql`INSERT INTO public.events_queue (topic, payload, status, attempts, last_error, dead_at)
        SELECT r.topic, r.payload, 'error', r.attempts, r.last_error, now()
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(topic text, payload jsonb, attempts int, last_error text)
        WHERE NOT EXISTS (SELECT 1 FROM public.events_queue e
                          WHERE e.status = 'error' AND e.payload ->> 'dead_key' = r.payload ->> 'dead_key')
          AND NOT EXISTS (SELECT 1 FROM jsonb_path_query(r.payload, 'lax $.**.user_id') AS u(v)
                          WHERE jsonb_typeof(u.v) = 'string' AND (u.v #>> '{}') ~* ${UUID_RE}
                            AND public.user_erased((u.v #>> '{}')::uuid))`,
  );
}
