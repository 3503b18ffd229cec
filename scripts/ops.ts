// npm run ops:halt   -- [--reason "…"] [--env production]   safe mode on + background jobs paused (guide §6, steps 1–2)
// npm run ops:resume -- [--reason "…"] [--env production]   background jobs resumed + safe mode off (guide §6, step 6)
// The emergency brake (scripts/lib/ops-halt.ts). It does not roll back code: npm run deploy:rollback.
// Prints its target API before the first write; refuses a local API_URL with --env staging|production.
import { apiConfig } from './lib/api-client';
import { parseCli, usageError } from './lib/cli';
import { halt, resume } from './lib/ops-halt';
import { announceApi } from './lib/target';

const USAGE = `usage:
  npm run ops:halt   -- [--reason "…"] [--env staging|production]   safe mode ON + background jobs PAUSED (ops.pause_jobs)
  npm run ops:resume -- [--reason "…"] [--env staging|production]   background jobs resumed, then safe mode OFF
Neither rolls back code: npm run deploy:rollback (canary split) or npx wrangler rollback (see docs/ONCALL.md).
--env names the deployment in the printed commands (default production) and refuses a local API_URL.
API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY (default: .dev.vars) select the deployment.`;

const { values, positionals } = parseCli(
  { allowPositionals: true, options: { reason: { type: 'string' }, env: { type: 'string' } } },
  USAGE,
);
const [command, ...rest] = positionals;
if (rest.length > 0) usageError(`unexpected argument: ${rest[0]}`, USAGE);

announceApi(apiConfig().baseUrl, values.env);
const opts = { reason: values.reason, env: values.env ?? 'production' };
switch (command) {
  case 'halt':
    await halt(opts);
    break;
  case 'resume':
    await resume(opts);
    break;
  default:
    usageError(command ? `unknown command: ${command}` : 'a command is required (halt or resume)', USAGE);
}
