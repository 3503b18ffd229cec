// User-scoped SQL: a transaction as role `authenticated` with the caller's JWT claims, so Postgres
// RLS applies to every statement — even one that forgot its WHERE user_id = … (the Supabase /
// Neon-RLS pattern; auth.uid() reads the claims).
import { sql } from 'drizzle-orm';
import { type Executor, execute, transaction } from './sql';

export type UserClaims = { sub: string } & Record<string, unknown>;

export function withUserTransaction<T>(db: Executor, claims: UserClaims, fn: (tx: Executor) => Promise<T>): Promise<T> {
  return transaction(db, async (tx) => {
    await execute(tx, sql`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`);
    await execute(tx, sql`set local role authenticated`);
    return fn(tx);
  });
}
