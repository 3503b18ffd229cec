// npm run flags -- list [--json]
// npm run flags -- set <key> '<json>' [--reason "why"]
// npm run flags -- sync                      run the Postgres ⇄ KV sync now (what the cron does each minute)
// npm run flags -- eval [<user-uuid>]        the flags as that user (or an anonymous caller) gets them
// Calls the admin API (scripts/lib/api-client.ts), so a CLI change takes exactly the API's path:
// validation, Postgres + KV together, a ledger row with actor 'cli'. API_URL / SERVICE_ROLE_KEY
// choose the target (default: the local `npm run dev`), printed before the first call.
import { adminCall, apiConfig, failWithApiError } from './lib/api-client';
import { parseCli, usageError } from './lib/cli';
import { fail } from './lib/env';
import { announceApi } from './lib/target';

const USAGE = `usage:
  npm run flags -- list [--json]
  npm run flags -- set <key> '<json>' [--reason "why"]
  npm run flags -- sync
  npm run flags -- eval [<user-uuid>]
options: --env staging|production (refuses a local API_URL), --help
API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY (default: .dev.vars) select the deployment.`;

const { values, positionals } = parseCli(
  {
    allowPositionals: true,
    options: { reason: { type: 'string' }, json: { type: 'boolean', default: false }, env: { type: 'string' } },
  },
  USAGE,
);
const [command, ...args] = positionals;

interface Listing {
  key: string;
  value: unknown;
  valid: boolean;
  updated_at: string | null;
  updated_by: string | null;
  kv: { value: unknown; in_sync: boolean; rev: number | null };
  sync: { rev: number; synced_at: string | null };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main() {
  if (!command || !['list', 'set', 'sync', 'eval'].includes(command))
    usageError(command ? `unknown command: ${command}` : 'a command is required', USAGE);
  announceApi(apiConfig().baseUrl, values.env);
  switch (command) {
    case 'list': {
      const { flags } = await adminCall<{ flags: Listing[] }>('GET', '/admin/flags');
      if (values.json) return console.log(JSON.stringify(flags, null, 2));
      console.log(
        table([
          ['key', 'value (postgres)', 'kv', 'rev', 'updated_by', 'updated_at'],
          ...flags.map((f) => [
            f.key,
            JSON.stringify(f.value) + (f.valid ? '' : '  (INVALID)'),
            f.kv.in_sync ? 'in sync' : `differs: ${JSON.stringify(f.kv.value)}`,
            String(f.sync.rev),
            f.updated_by ?? '',
            f.updated_at ?? '',
          ]),
        ]),
      );
      return;
    }
    case 'set': {
      const [key, raw] = args;
      if (!key || raw === undefined) usageError('set needs <key> and a JSON value', USAGE);
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        fail(`value is not JSON: ${raw} (quote it: '{"enabled":true}')`);
      }
      const result = await adminCall<{ old: unknown; value: unknown; changed: boolean; rev: number; kv: string }>(
        'PUT',
        `/admin/flags/${encodeURIComponent(key)}`,
        { value, ...(values.reason ? { reason: values.reason } : {}) },
      );
      console.log(
        result.changed
          ? `${key}: ${JSON.stringify(result.old)} → ${JSON.stringify(result.value)} (rev ${result.rev}, kv ${result.kv})`
          : `${key}: already ${JSON.stringify(result.value)} (unchanged)`,
      );
      return;
    }
    case 'sync': {
      const { flags } = await adminCall<{ flags: { key: string; outcome: string; rev: number; kv: string }[] }>(
        'POST',
        '/admin/flags/sync',
      );
      console.log(table([['key', 'outcome', 'rev', 'kv'], ...flags.map((f) => [f.key, f.outcome, String(f.rev), f.kv])]));
      return;
    }
    case 'eval': {
      const [user] = args;
      const q = user ? `?user_id=${encodeURIComponent(user)}` : '';
      const res = await adminCall<{ evaluated: { values: unknown; rollouts: unknown } }>('GET', `/admin/flags/evaluate${q}`);
      console.log(JSON.stringify({ values: res.evaluated.values, rollouts: res.evaluated.rollouts }, null, 2));
      return;
    }
  }
}

main().catch(failWithApiError);
