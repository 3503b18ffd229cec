// Change a flag: Postgres (the truth) and KV (the edge copy) together, with a ledger row.
// Every write path (admin API, CLI, dashboard, automatic alert action) goes through setFlag.
// It runs the same locked three-way merge as the per-minute sync (src/flags/sync.ts) with the
// write on top, so a KV or SQL change not yet synced is recorded before it is superseded.
import { badRequest, notFound, zodIssues } from '../http/errors';
import { isFlagKey, parseFlag } from './definitions';
import { applyWrite } from './merge';
import { type SyncedFlag, type SyncUnit, syncFlags } from './sync';

export interface FlagWriteMeta {
  /** Who: 'api:service', 'cli', 'alert:<rule>', … */
  actor: string;
  reason?: string;
  requestId?: string;
  /** The path for the ledger (api, cli, alert…); derived from the actor when omitted. */
  path?: string;
}

export interface FlagWriteResult {
  key: string;
  /** The value in force before this write (after recording any unsynced change). */
  old: unknown;
  value: unknown;
  /** False when the value was already in force: no ledger row, no new revision. */
  changed: boolean;
  rev: number;
  kv: SyncedFlag['kv'];
}

/** 'api:service' → 'api', 'alert:burn_rate' → 'alert', 'cli' → 'cli'. */
export const pathOfActor = (actor: string): string => actor.split(':')[0] || actor;

export async function setFlag(c: SyncUnit, key: string, value: unknown, meta: FlagWriteMeta): Promise<FlagWriteResult> {
  if (!isFlagKey(key)) throw notFound(`unknown flag "${key}"`);
  const parsed = parseFlag(key, value);
  if (!parsed.success) throw badRequest(`invalid value for ${key}`, { issues: zodIssues(parsed.error) });
  let old: unknown = null;
  let changed = false;
  const [result] = await syncFlags(c, {
    actor: meta.actor,
    keys: [key],
    amend: (plan) => {
      old = plan.target ?? null;
      changed = applyWrite(plan, value, {
        actor: meta.actor,
        path: meta.path ?? pathOfActor(meta.actor),
        reason: meta.reason,
        requestId: meta.requestId,
      });
    },
  });
  c.log.info('flag.set', { key, actor: meta.actor, changed, rev: result!.rev, kv: result!.kv });
  return { key, old, value, changed, rev: result!.rev, kv: result!.kv };
}
