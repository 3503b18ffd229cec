// The ledger writer, directly and inside a transaction that commits or rolls back with it.
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client';
import { recordAction } from '../../src/db/ledger';
import { testDb } from './support';

const db = testDb();
afterAll(() => db.end());

describe('ai_action_ledger writer', () => {
  it('records who, what, target, old → new and why', async () => {
    const target = `flag-${crypto.randomUUID()}`;
    const id = await recordAction(db, {
      actor: 'api:service',
      action: 'flag.set',
      target,
      oldValue: { enabled: false },
      newValue: { enabled: true },
      reason: 'test',
      requestId: 'req-1',
      metadata: { path: 'api' },
    });
    const [row] = await db.query<any>('SELECT * FROM public.ai_action_ledger WHERE id = $1', [id]);
    expect(row).toMatchObject({
      actor: 'api:service',
      action: 'flag.set',
      target,
      old_value: { enabled: false },
      new_value: { enabled: true },
      reason: 'test',
      request_id: 'req-1',
      metadata: { path: 'api' },
    });
  });

  it('inside a transaction, commits and rolls back with it', async () => {
    const kept = `kept-${crypto.randomUUID()}`;
    const lost = `lost-${crypto.randomUUID()}`;
    await db.transaction((tx) => recordAction(tx as unknown as Db, { actor: 't', action: 'x', target: kept }));
    await db
      .transaction(async (tx) => {
        await recordAction(tx as unknown as Db, { actor: 't', action: 'x', target: lost });
        tx.rollback();
      })
      .catch(() => {});
    const rows = await db.query<{ target: string }>('SELECT target FROM public.ai_action_ledger WHERE target = ANY($1)', [[kept, lost]]);
    expect(rows.map((r) => r.target)).toEqual([kept]);
  });
});
