// `npm run dlq` arguments → the admin API request it makes (kept pure so it is testable).
import { parseArgs } from 'node:util';

export const DLQ_USAGE = `usage:
  npm run dlq -- list    [--source discovery|events] [--limit 50] [--offset 0] [--json]
  npm run dlq -- redrive (--all | --id <id> [--id <id> …]) [--source discovery|events] [--older-than 7d] [--reason "…"]
  npm run dlq -- purge   (--all | --id <id> [--id <id> …]) [--source discovery|events] [--older-than 7d] [--reason "…"]
options: --env staging|production (refuses a local API_URL), --help
API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY (default: .dev.vars) select the deployment.`;

export interface DlqRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
  json: boolean;
  /** --env: the deployment the operator means (a local API_URL is refused for staging/production). */
  env?: string;
}

/** "90" → 90 s; "15m", "6h", "7d" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new Error(`--older-than: not a duration: ${text} (e.g. 3600, 30m, 6h, 7d)`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

/** `npm run dlq -- --help` (or -h): print DLQ_USAGE, do nothing else. */
export const wantsHelp = (argv: string[]): boolean => argv.includes('--help') || argv.includes('-h');

export function dlqRequest(argv: string[]): DlqRequest {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      source: { type: 'string' },
      limit: { type: 'string' },
      offset: { type: 'string' },
      id: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      'older-than': { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean' },
      env: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const env = values.env;
  const [command, ...rest] = positionals;
  if (rest.length > 0) throw new Error(`unexpected argument: ${rest[0]}`);
  if (values.source !== undefined && !['discovery', 'events'].includes(values.source)) {
    throw new Error('--source must be discovery or events');
  }
  if (command === 'list') {
    const q = new URLSearchParams();
    if (values.source) q.set('source', values.source);
    if (values.limit) q.set('limit', values.limit);
    if (values.offset) q.set('offset', values.offset);
    const qs = q.toString();
    return { method: 'GET', path: `/admin/dlq${qs ? `?${qs}` : ''}`, json: values.json ?? false, env };
  }
  if (command === 'redrive' || command === 'purge') {
    if (!values.all && !values.id?.length) throw new Error(`${command}: give --id <id> (repeatable) or --all`);
    if (values.all && values.id?.length) throw new Error(`${command}: --all and --id exclude each other`);
    const body: Record<string, unknown> = values.all ? { all: true } : { ids: values.id };
    if (values.source) body.source = values.source;
    if (values['older-than']) body.older_than_seconds = parseDuration(values['older-than']);
    if (values.reason) body.reason = values.reason;
    return { method: 'POST', path: `/admin/dlq/${command}`, body, json: true, env };
  }
  throw new Error(command ? `unknown command: ${command}` : 'a command is required');
}
