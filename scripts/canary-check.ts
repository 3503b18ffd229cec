// npm run canary:check [-- --database-url <pg>] [--env production | --canary <id> --stable <id>]
// Go/no-go for the running canary from the guide's thresholds and the canary-vs-stable comparison
// (scripts/lib/canary-stats.ts) as at a step's last look: GO needs --min-canary-requests (default
// 500) and evidence that the canary is no worse than stable; no data is NO-GO. Exit 0 = go,
// 1 = no-go, 2 = could not evaluate. --looks N: how often you will run it for this rollout (the
// harm test's Bonferroni divisor; default 120, deploy:auto's). The canary and stable versions come from the deploy state of --env (written by
// deploy:canary) unless given explicitly.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateGate, formatGate } from './lib/canary-gate';
import { DEFAULT_POLICY } from './lib/canary-stats';
import { ROOT } from './lib/env';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    env: { type: 'string', default: 'production' },
    canary: { type: 'string' },
    stable: { type: 'string' },
    'min-canary-requests': { type: 'string', default: String(DEFAULT_POLICY.minRequests) },
    looks: { type: 'string', default: String(DEFAULT_POLICY.maxLooks) },
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
    policy: { maxLooks: Math.max(1, Number(values.looks)) },
    last: true,
  });
  console.log(values.json ? JSON.stringify(result, null, 2) : formatGate(result));
  process.exit(result.go ? 0 : 1);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(2);
}
