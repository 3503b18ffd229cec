// npm run reward-ranges -- list [--json]
// npm run reward-ranges -- set <surface|'*'> <min> <max> [--reason "why"]   '*' = the default range
// npm run reward-ranges -- unset <surface> [--reason "why"]                 back to the default range
// Calls the admin API (scripts/lib/api-client.ts), so a CLI change takes exactly the API's path:
// validation, Postgres + the edge copy together, a ledger row (reward_range.set/unset) with actor
// 'cli'. API_URL / SERVICE_ROLE_KEY choose the target (default: the local `npm run dev`).
import { adminCall, apiConfig, failWithApiError } from './lib/api-client';
import { parseCli, usageError } from './lib/cli';
import { announceApi } from './lib/target';

const USAGE = `usage:
  npm run reward-ranges -- list [--json]
  npm run reward-ranges -- set <surface|'*'> <min> <max> [--reason "why"]
  npm run reward-ranges -- unset <surface> [--reason "why"]
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

interface Range {
  min: number;
  max: number;
}
interface Listing {
  database: { surface: string; min_reward: number; max_reward: number; updated_at: string; updated_by: string | null }[];
  edge: { default: Range; surfaces: Record<string, Range>; loadedAt: string };
}
interface Write {
  surface: string;
  old: Range | null;
  new: Range | null;
  changed: boolean;
  kv: string;
}

const show = (r: Range | null) => (r ? `[${r.min}, ${r.max}]` : 'none (the default range)');

function number(raw: string | undefined, what: string): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isFinite(n))
    usageError(`${what} must be a number (got ${raw ?? 'nothing'})`, USAGE);
  return n;
}

async function main() {
  if (!command || !['list', 'set', 'unset'].includes(command))
    usageError(command ? `unknown command: ${command}` : 'a command is required', USAGE);
  announceApi(apiConfig().baseUrl, values.env);
  const reason = values.reason ? { reason: values.reason } : {};
  switch (command) {
    case 'list': {
      const listing = await adminCall<Listing>('GET', '/admin/reward-ranges');
      if (values.json) return console.log(JSON.stringify(listing, null, 2));
      for (const r of listing.database) {
        const edge = r.surface === '*' ? listing.edge.default : listing.edge.surfaces[r.surface];
        const inSync = edge?.min === r.min_reward && edge?.max === r.max_reward;
        console.log(
          `${r.surface.padEnd(24)} [${r.min_reward}, ${r.max_reward}]  ${inSync ? 'edge in sync' : `edge: ${show(edge ?? null)}`}  ` +
            `${r.updated_by ?? ''} ${r.updated_at}`,
        );
      }
      return;
    }
    case 'set': {
      const [surface, min, max] = args;
      if (!surface) usageError('missing arguments', USAGE);
      const body = { min_reward: number(min, 'min'), max_reward: number(max, 'max'), ...reason };
      const w = await adminCall<Write>('PUT', `/admin/reward-ranges/${encodeURIComponent(surface)}`, body);
      console.log(
        w.changed ? `${w.surface}: ${show(w.old)} → ${show(w.new)} (edge ${w.kv})` : `${w.surface}: already ${show(w.new)} (unchanged)`,
      );
      return;
    }
    case 'unset': {
      const [surface] = args;
      if (!surface) usageError('missing arguments', USAGE);
      const q = values.reason ? `?reason=${encodeURIComponent(values.reason)}` : '';
      const w = await adminCall<Write>('DELETE', `/admin/reward-ranges/${encodeURIComponent(surface)}${q}`);
      console.log(w.changed ? `${w.surface}: ${show(w.old)} → the default range (edge ${w.kv})` : `${w.surface}: had no range of its own`);
      return;
    }
    default:
      usageError('missing arguments', USAGE);
  }
}

main().catch(failWithApiError);
