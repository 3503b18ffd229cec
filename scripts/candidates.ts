// npm run candidates -- list <surface> [--json]
// npm run candidates -- register <surface> <id> [<id>…] [--reason "why"]
// npm run candidates -- unregister <surface> <id> [<id>…] [--reason "why"]
// Candidates registered for a surface are known: their impressions and rewards enter the shared
// statistics every user's slate reads (catalog ids are known without registration). Calls the
// admin API (scripts/lib/api-client.ts): validation, one ledger row per call with actor 'cli'.
// Ids may also come on stdin, one per line (`… register feed - < ids.txt`), 1,000 per call.
import { readFileSync } from 'node:fs';
import { adminCall, apiConfig, failWithApiError } from './lib/api-client';
import { parseCli, usageError } from './lib/cli';
import { announceApi } from './lib/target';

const USAGE = `usage:
  npm run candidates -- list <surface> [--json]
  npm run candidates -- register <surface> <id> [<id>…] [--reason "why"]     (ids from stdin: -)
  npm run candidates -- unregister <surface> <id> [<id>…] [--reason "why"]
options: --env staging|production (refuses a local API_URL), --help
API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY (default: .dev.vars) select the deployment.`;
/** The route's limit per call. */
const CHUNK = 1_000;

const { values, positionals } = parseCli(
  {
    allowPositionals: true,
    options: { reason: { type: 'string' }, json: { type: 'boolean', default: false }, env: { type: 'string' } },
  },
  USAGE,
);
const [command, surface, ...rest] = positionals;

function ids(): string[] {
  const out = rest.flatMap((a) =>
    a === '-'
      ? readFileSync(0, 'utf8')
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
      : [a],
  );
  if (out.length === 0) usageError('missing arguments', USAGE);
  return out;
}

const path = () => `/admin/surfaces/${encodeURIComponent(surface!)}/candidates`;

async function inChunks(suffix: string, all: string[], done: string, skipped: string) {
  let changed = 0;
  let unchanged = 0;
  for (let i = 0; i < all.length; i += CHUNK) {
    const res = await adminCall<Record<string, string[]>>('POST', `${path()}${suffix}`, {
      candidate_ids: all.slice(i, i + CHUNK),
      ...(values.reason ? { reason: values.reason } : {}),
    });
    changed += res[done]!.length;
    unchanged += res[skipped]!.length;
  }
  console.log(`${surface}: ${changed} ${done}, ${unchanged} ${skipped}`);
}

async function main() {
  if (!command || !['list', 'register', 'unregister'].includes(command))
    usageError(command ? `unknown command: ${command}` : 'a command is required', USAGE);
  if (!surface) usageError('a surface is required', USAGE);
  announceApi(apiConfig().baseUrl, values.env);
  switch (command) {
    case 'list': {
      const all: { candidate_id: string; registered_at: string; registered_by: string | null }[] = [];
      let after: string | null = null;
      do {
        const q: string = `?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`;
        const page: { candidates: typeof all; next: string | null } = await adminCall('GET', `${path()}${q}`);
        all.push(...page.candidates);
        after = page.next;
      } while (after);
      if (values.json) return console.log(JSON.stringify(all, null, 2));
      for (const c of all) console.log(`${c.candidate_id}\t${c.registered_by ?? ''}\t${c.registered_at}`);
      console.error(`${all.length} registered for ${surface}`);
      return;
    }
    case 'register':
      return inChunks('', ids(), 'registered', 'already');
    case 'unregister':
      return inChunks('/unregister', ids(), 'unregistered', 'absent');
    default:
      usageError('missing arguments', USAGE);
  }
}

main().catch(failWithApiError);
