// npm run canary:check [-- --database-url <pg>] [--env production | --canary <id> --stable <id>]
// Go/no-go for the running canary from the guide's thresholds; exit 0 = go, 1 = no-go, 2 = could
// not evaluate. The canary and stable versions come from the deploy state of --env (written by
// deploy:canary) unless given explicitly. Prints the database it reads before reading it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateGate, formatGate } from './lib/canary-gate';
import { parseCli } from './lib/cli';
import { ROOT } from './lib/env';
import { announceDatabase } from './lib/target';

const USAGE = `usage: npm run canary:check -- [--env production] [--database-url <postgres url>] [--canary <id> --stable <id>] [--min-canary-requests N] [--json]
  Go / no-go for the running canary from the guide's §4 thresholds: exit 0 go, 1 no-go, 2 cannot evaluate.
  The versions come from the deploy state of --env (default production; written by deploy:canary) unless given.
  DATABASE_URL (or --database-url) is required; an explicit --env staging|production refuses a local one.`;

const { values } = parseCli(
  {
    options: {
      'database-url': { type: 'string' },
      env: { type: 'string' },
      canary: { type: 'string' },
      stable: { type: 'string' },
      'min-canary-requests': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
  },
  USAGE,
);
const url = values['database-url'] ?? process.env.DATABASE_URL;
if (!url) {
  console.error('error: pass --database-url or set DATABASE_URL');
  process.exit(2);
}
announceDatabase(url, values.env, 'database', 2); // exit 2: cannot evaluate
const envName = values.env ?? 'production';
const stateFile = path.join(process.env.DEPLOY_STATE_DIR ?? path.join(ROOT, '.wrangler/deploy-state'), `${envName}.json`);
const state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { canary?: string; stable?: string }) : {};
try {
  const result = await evaluateGate(url, {
    canary: values.canary ?? state.canary,
    stable: values.stable ?? state.stable,
    minCanaryRequests: Number(values['min-canary-requests']),
  });
  console.log(values.json ? JSON.stringify(result, null, 2) : formatGate(result));
  process.exit(result.go ? 0 : 1);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(2);
}
