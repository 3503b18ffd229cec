// npm run slo: the SLO picture through the admin API — vw_kernel_slos (last hour per operation)
// and vw_slo_burnrate (burn rates and the SRE workbook's page/ticket states).
import { adminCall, apiConfig } from './lib/api-client';
import { parseCli } from './lib/cli';
import { fail } from './lib/env';
import { announceApi } from './lib/target';

const USAGE = `usage: npm run slo [-- --env staging|production]
  vw_kernel_slos (last hour per operation) and vw_slo_burnrate through GET /admin/slos.
  --env refuses a local API_URL; API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY select the deployment.`;

const { values } = parseCli({ options: { env: { type: 'string' } } }, USAGE);

type Row = Record<string, unknown>;

async function main(): Promise<void> {
  announceApi(apiConfig().baseUrl, values.env);
  const { kernel_slos, burn_rates } = await adminCall<{ kernel_slos: Row[]; burn_rates: Row[] }>('GET', '/admin/slos');
  const round = (v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(2)) : v);
  const pick = (rows: Row[], cols: string[]) => rows.map((r) => Object.fromEntries(cols.map((c) => [c, round(r[c])])));
  console.log('vw_kernel_slos (last hour)');
  if (kernel_slos.length)
    console.table(pick(kernel_slos, ['operation', 'requests', 'error_rate', 'p50_ms', 'p95_ms', 'p99_ms', 'target_p95_ms', 'met']));
  else console.log('(no traffic)');
  console.log('vw_slo_burnrate');
  if (burn_rates.length)
    console.table(
      pick(burn_rates, ['operation', 'burn_rate_5m', 'burn_rate_30m', 'burn_rate_1h', 'burn_rate_6h', 'page_alert', 'ticket_alert']),
    );
  else console.log('(no SLO traffic in the last 6 hours)');
}

main().catch((err) => fail((err as Error).message));
