// npm run canary:check [-- --database-url <pg>] [--env production | --canary <id> --stable <id>] [--looks N]
// Go/no-go for the running canary from the guide's thresholds and the canary-vs-stable comparison
// (scripts/lib/canary-stats.ts) as at a step's last look: GO needs --min-canary-requests (default
// 500) and evidence that the canary is no worse than stable; no data is NO-GO. Exit 0 = go,
// 1 = no-go, 2 = could not evaluate. --looks N: how often you will run it for this rollout (the
// harm test's Bonferroni divisor; default 120, deploy:auto's). The canary and stable versions come
// from the live deployment of --env (wrangler deployments status / versions list) unless given.
// Prints the database it reads before reading it.
import { evaluateGate, formatGate } from './lib/canary-gate';
import { DEFAULT_POLICY } from './lib/canary-stats';
import { parseCli } from './lib/cli';
import { describeLive, readLiveDeployment } from './lib/live-deployment';
import { announceDatabase } from './lib/target';

const USAGE = `usage: npm run canary:check -- [--env production] [--database-url <postgres url>] [--canary <id> --stable <id>] [--min-canary-requests 500] [--looks 120] [--json]
  Go / no-go for the running canary: the guide's §4 thresholds and canary vs stable; exit 0 go, 1 no-go, 2 cannot evaluate.
  The versions come from the live deployment of --env (default production; wrangler deployments status) unless given.
  DATABASE_URL (or --database-url) is required; an explicit --env staging|production refuses a local one.`;

const { values } = parseCli(
  {
    options: {
      'database-url': { type: 'string' },
      env: { type: 'string' },
      canary: { type: 'string' },
      stable: { type: 'string' },
      'min-canary-requests': { type: 'string', default: String(DEFAULT_POLICY.minRequests) },
      looks: { type: 'string', default: String(DEFAULT_POLICY.maxLooks) },
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
// The versions of the live deployment (wrangler deployments status), unless given explicitly.
let state: { canary?: string; stable?: string } = {};
if (!values.canary) {
  try {
    const live = readLiveDeployment(['--env', envName]);
    if (!live.split) {
      console.error(`error: ${describeLive(live, envName)} (pass --canary and --stable to check versions by id)`);
      process.exit(2);
    }
    state = live.split;
  } catch (err) {
    console.error(`error: cannot read the live deployment: ${(err as Error).message}`);
    process.exit(2);
  }
}
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
