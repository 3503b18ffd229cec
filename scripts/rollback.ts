// npm run rollback -- [--reason "…"] [--env production]      guide §6, steps 1–3, in one command
// npm run rollback -- --undo [--reason "…"]                   guide §6, step 6 (after verification)
// Rollback: safe mode on (no exploration, deterministic slates), background side effects paused
// (ops.pause_jobs: discovery consumer and relay, learning rollups, hydrate-features, GC), then the
// log-tail command and what to check. Undo: resume background work, then safe mode off.
// Both go through the admin API (API_URL, SERVICE_ROLE_KEY), so each step is in ai_action_ledger.
import { parseArgs } from 'node:util';
import { adminCall } from './lib/api-client';
import { fail } from './lib/env';

const { values } = parseArgs({
  options: {
    undo: { type: 'boolean', default: false },
    reason: { type: 'string' },
    env: { type: 'string', default: 'production' },
  },
});
const reason = values.reason ?? (values.undo ? 'rollback undone after verification' : 'rollback (guide §6)');

async function step(label: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
    console.log(`done  ${label}`);
  } catch (err) {
    fail(`${label}: ${(err as Error).message}`);
  }
}

if (!values.undo) {
  await step('1. safe mode ON (global.safe_mode)', () =>
    adminCall('PUT', '/admin/flags/global.safe_mode', { value: { enabled: true }, reason }),
  );
  await step('2. background work PAUSED (ops.pause_jobs)', () => adminCall('PUT', '/admin/ops/pause', { paused: true, reason }));
  console.log(`
3. Review logs (one JSON line per request and per job):
     npx wrangler tail --env ${values.env} --format json
     npx wrangler tail --env ${values.env} --format json | grep -E 'job.failed|unhandled_error|discovery|queue.handler_failed'
4. Identify the issue:
     psql "$DATABASE_URL" -c "SELECT * FROM public.vw_discovery_queue_health;"
     psql "$DATABASE_URL" -c "SELECT * FROM public.vw_policy_health;"
     psql "$DATABASE_URL" -c "SELECT * FROM public.vw_alerts_active;"
     npm run canary:check -- --env ${values.env}          (and npm run deploy:rollback if a canary is live)
5. Fix and redeploy (hotfix migration: npm run db:migrate; code: npx wrangler deploy --env ${values.env}).
6. After verification: npm run rollback -- --undo`);
} else {
  await step('resume background work (ops.pause_jobs off)', () => adminCall('PUT', '/admin/ops/pause', { paused: false, reason }));
  await step('safe mode OFF (global.safe_mode)', () =>
    adminCall('PUT', '/admin/flags/global.safe_mode', { value: { enabled: false }, reason }),
  );
  console.log('\nVerify: curl -s "$API_URL/health" | jq .safe_mode   (false), and the dashboard /admin/dashboard');
}
