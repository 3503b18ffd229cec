// ai_action_ledger: one row per operator or automatic action, whichever path it took
// (API, CLI, SQL sync, cron, alert). Who/what path, on which key, old → new, and why.
import { sql } from 'drizzle-orm';
import type { Db, Tx } from './client';
import type { LedgerEntry } from './ledger-entry';

export type { LedgerEntry };

const INSERT = `INSERT INTO public.ai_action_ledger (actor, action, target, old_value, new_value, reason, request_id, metadata)
                VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8::jsonb) RETURNING id`;

function params(e: LedgerEntry): unknown[] {
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  return [e.actor, e.action, e.target ?? null, json(e.oldValue), json(e.newValue), e.reason ?? null, e.requestId ?? null, JSON.stringify(e.metadata ?? {})];
}

/** Write one ledger row; returns its id. */
export async function recordAction(db: Db, entry: LedgerEntry): Promise<number> {
  const [row] = await db.query<{ id: string }>(INSERT, params(entry));
  return Number(row!.id);
}

/** Same, inside a drizzle transaction (so the action and its record commit together). */
export async function recordActionTx(tx: Tx, e: LedgerEntry): Promise<void> {
  const [actor, action, target, oldValue, newValue, reason, requestId, metadata] = params(e);
  await tx.execute(sql`INSERT INTO public.ai_action_ledger (actor, action, target, old_value, new_value, reason, request_id, metadata)
    VALUES (${actor}, ${action}, ${target}, ${oldValue}::jsonb, ${newValue}::jsonb, ${reason}, ${requestId}, ${metadata}::jsonb)`);
}
