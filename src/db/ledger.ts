// ai_action_ledger: one row per operator or automatic action, whichever path it took
// (API, CLI, SQL sync, cron, alert). Who/what path, on which key, old → new, and why.
// Pass a transaction to commit the action and its record together.
import { type SQL, sql } from 'drizzle-orm';
import type { LedgerEntry } from './ledger-entry';
import { aiActionLedger } from './schema';
import type { Db } from './sql';

export type { LedgerEntry };

/** undefined = not recorded (SQL NULL); any JSON value, null included, is stored as jsonb. */
const jsonb = (v: unknown): unknown | SQL => (v === undefined ? null : v === null ? sql`'null'::jsonb` : v);

/** Write one ledger row (on a Db or inside a transaction); returns its id. */
export async function recordAction(db: Db, e: LedgerEntry): Promise<number> {
  const [row] = await db
    .insert(aiActionLedger)
    .values({
      actor: e.actor,
      action: e.action,
      target: e.target ?? null,
      oldValue: jsonb(e.oldValue),
      newValue: jsonb(e.newValue),
      reason: e.reason ?? null,
      requestId: e.requestId ?? null,
      metadata: e.metadata ?? {},
    })
    .returning({ id: aiActionLedger.id });
  return row!.id;
}
