// npm run canary:check [-- --database-url <pg>] [--env production | --canary <id> --stable <id>]
// Go/no-go for the running canary from the guide's thresholds; exit 0 = go, 1 = no-go, 2 = could
// not evaluate. The canary and stable versions come from the deploy state of --env (written by
// deploy:canary) unless given explicitly.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateGate, formatGate } from './lib/canary-gate';
import { ROOT } from './lib/env';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    env: { type: 'string', default: 'production' },
    canary: { type: 'string' },
    stable: { type: 'string' },
    'min-canary-requests': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const url = values['database-url'] ?? process.env.DATABASE_URL;
if (!url) {
  console.error('error: pass --database-url or set DATABASE_URL');
  process.exit(2);
}
const stateFile = path.join(process.env.DEPLOY_STATE_DIR ?? path.join(ROOT, '.wrangler/deploy-state'), `${values.env}.json`);
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
