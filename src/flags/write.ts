// Change a flag: Postgres (the truth) and KV (the edge copy) together, with a ledger row.
// Every write path (admin API, CLI, dashboard, automatic alert action) goes through setFlag.
import type { Db } from '../db/client';
import { recordAction } from '../db/ledger';
import { badRequest, notFound } from '../lib/errors';
import type { Logger } from '../observability/logger';
import { flagSchemas, isFlagKey, type FlagKey } from './definitions';

export interface FlagWriteContext {
  env: Env;
  db: () => Db;
  log: Logger;
}

export interface FlagWriteMeta {
  actor: string;
  reason?: string;
  requestId?: string;
}

export async function setFlag(c: FlagWriteContext, key: string, value: unknown, meta: FlagWriteMeta) {
  if (!isFlagKey(key)) throw notFound(`unknown flag "${key}"`);
  const parsed = flagSchemas[key as FlagKey].safeParse(value);
  if (!parsed.success) throw badRequest(`invalid value for ${key}`, { issues: parsed.error.issues });
  const db = c.db();
  const [old] = await db.query<{ value: unknown }>('SELECT value FROM public.feature_flags WHERE key = $1', [key]);
  await db.query(
    `INSERT INTO public.feature_flags (key, value, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
    [key, JSON.stringify(parsed.data), meta.actor],
  );
  await c.env.FLAGS.put(key, JSON.stringify(parsed.data));
  await recordAction(db, {
    actor: meta.actor, action: 'flag.set', target: key, oldValue: old?.value ?? null, newValue: parsed.data,
    reason: meta.reason, requestId: meta.requestId,
  });
  c.log.info('flag.set', { key, actor: meta.actor });
  return { key, old: old?.value ?? null, value: parsed.data };
}
