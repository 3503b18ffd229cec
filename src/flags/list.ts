// The operator's view of every flag: the Postgres value (the truth), the KV copy this location
// sees, whether they agree, and the sync bookkeeping (rev, last sync, last conflict).
// Not on any hot path: it reads Postgres and KV without caches.
import type { Db } from '../db/sql';
import { zodIssues } from '../http/errors';
import { sameJson } from './canonical';
import { FLAG_KEYS, type FlagKey, isFlagKey, parseFlag } from './definitions';
import { parseJsonText, readFlagWithMeta } from './kv';
import { listFlagRows } from './queries';

export interface FlagListing {
  key: string;
  known: boolean;
  value: unknown;
  valid: boolean;
  issues?: unknown;
  description: string | null;
  updated_at: string | null;
  updated_by: string | null;
  kv: { value: unknown; valid: boolean; rev: number | null; in_sync: boolean };
  sync: { rev: number; synced_at: string | null; source: string | null; last_conflict: unknown };
}

const iso = (v: Date | null | undefined) => (v == null ? null : v.toISOString());

export async function listFlags(env: Env, db: Db): Promise<FlagListing[]> {
  const rows = await listFlagRows(db);
  const keys = [...new Set([...FLAG_KEYS, ...rows.map((r) => r.key)])].sort();
  return Promise.all(
    keys.map(async (key) => {
      const row = rows.find((r) => r.key === key);
      const known = isFlagKey(key);
      const parsed = known && row ? parseFlag(key as FlagKey, row.value) : undefined;
      const kv = known ? await readFlagWithMeta(env, key as FlagKey) : { text: null, meta: null };
      const kvJson = kv.text === null ? undefined : parseJsonText(kv.text);
      const kvValue = kvJson === undefined ? null : kvJson.ok ? kvJson.value : kv.text;
      return {
        key,
        known,
        value: row?.value ?? null,
        valid: parsed?.success ?? false,
        ...(parsed && !parsed.success ? { issues: zodIssues(parsed.error) } : {}),
        description: row?.description ?? null,
        updated_at: iso(row?.updatedAt),
        updated_by: row?.updatedBy ?? null,
        kv: {
          value: kvValue,
          valid: known && kvJson?.ok === true && parseFlag(key as FlagKey, kvJson.value).success,
          rev: kv.meta?.rev ?? null,
          in_sync: row !== undefined && kvJson?.ok === true && sameJson(kvJson.value, row.value),
        },
        sync: { rev: row?.rev ?? 0, synced_at: iso(row?.syncedAt), source: row?.source ?? null, last_conflict: row?.lastConflict ?? null },
      };
    }),
  );
}
