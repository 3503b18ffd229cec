// The emergency brake behind `npm run ops:halt` / `ops:resume` (and, for one release, the old
// `npm run rollback` alias): guide §6 steps 1–2 and 6. It does NOT roll back code — that is
// `npm run deploy:rollback` (canary split) or `npx wrangler rollback` — and says so.
//   halt:   safe mode on (no exploration, deterministic slates), background side effects paused
//           (ops.pause_jobs: discovery relay and consumer, learning rollups, hydrate-features, GC),
//           then the log-tail command, what to check and how to roll back the code.
//   resume: background work resumed, then safe mode off.
// Both go through the admin API (API_URL, SERVICE_ROLE_KEY), so each step is in ai_action_ledger.
import { adminCall } from './api-client';
import { fail } from './env';

export interface OpsOptions {
  reason?: string;
  /** The environment named in the printed commands (wrangler --env). */
  env: string;
}

async function step(label: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
    console.log(`done  ${label}`);
  } catch (err) {
    fail(`${label}: ${(err as Error).message}`);
  }
}

export async function halt(opts: OpsOptions): Promise<void> {
  const reason = opts.reason ?? 'ops:halt (guide §6)';
  const env = opts.env;
  await step('1. safe mode ON (global.safe_mode)', () =>
    adminCall('PUT', '/admin/flags/global.safe_mode', { value: { enabled: true }, reason }),
  );
  await step('2. background work PAUSED (ops.pause_jobs)', () => adminCall('PUT', '/admin/ops/pause', { paused: true, reason }));
  console.log(`
3. Review logs (one JSON line per request and per job):
     npx wrangler tail --env ${env} --format json
     npx wrangler tail --env ${env} --format json | grep -E 'job.failed|unhandled_error|discovery|queue.handler_failed'
4. Identify the issue:
     psql "$DATABASE_URL" -c "SELECT * FROM public.vw_discovery_queue_health;"
     psql "$DATABASE_URL" -c "SELECT * FROM public.vw_policy_health;"
     psql "$DATABASE_URL" -c "SELECT * FROM public.vw_alerts_active;"
     npm run canary:check -- --env ${env}
5. This did not roll back the code. If the last deploy is the cause:
     npm run deploy:status -- --env ${env}        a canary split in progress?
     npm run deploy:rollback -- --env ${env} --message "why"        (split active: all traffic to the stable version)
     npx wrangler rollback --env ${env} --message "why"              (no split: the previous version)
   Or fix forward: a hotfix migration (npm run db:migrate) or code (npm run deploy:canary -- --env ${env}).
6. After verification: npm run ops:resume -- --env ${env}`);
}

export async function resume(opts: OpsOptions): Promise<void> {
  const reason = opts.reason ?? 'ops:resume after verification';
  await step('resume background work (ops.pause_jobs off)', () => adminCall('PUT', '/admin/ops/pause', { paused: false, reason }));
  await step('safe mode OFF (global.safe_mode)', () =>
    adminCall('PUT', '/admin/flags/global.safe_mode', { value: { enabled: false }, reason }),
  );
  console.log('\nVerify: curl -s "$API_URL/health" | jq .safe_mode   (false), and the dashboard /admin/dashboard');
}
