// Per-minute flag sync ('* * * * *'): converge Postgres feature_flags and KV FLAGS with the
// three-way merge of src/flags/sync.ts. This is what makes the guide's SQL flip reach the edge
// within a minute and an operator's `wrangler kv key put` land in Postgres and the ledger.
import { syncFlags } from '../flags/sync';
import type { Job } from '../platform/job';

export const flagSync: Job = {
  name: 'flag-sync',
  async run(c) {
    const results = await syncFlags(c, { actor: 'cron:flag-sync' });
    const changed = results.filter((r) => r.outcome !== 'in_sync' && r.outcome !== 'empty');
    return {
      changed: changed.map((r) => `${r.key}:${r.outcome}`),
      kv_puts: results.filter((r) => r.kv === 'put').length,
      kv_put_failures: results.filter((r) => r.kv === 'put_failed').length,
    };
  },
};
