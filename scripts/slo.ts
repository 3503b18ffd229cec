// npm run slo: the SLO picture through the admin API — vw_kernel_slos (last hour per operation)
// and vw_slo_burnrate (burn rates and the SRE workbook's page/ticket states).
// npm run slo -- export --format openslo: the SLO definitions (slo_targets) and the burn-rate alert
// rules (alert_rules) as OpenSLO v1 YAML (scripts/lib/openslo.ts), read from Postgres — the
// definitions live there, and the export needs none of the Worker's traffic.
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { stringify } from 'yaml';
import { adminCall, apiConfig } from './lib/api-client';
import { parseCli, usageError } from './lib/cli';
import { databaseUrl, fail } from './lib/env';
import { type AlertRuleRow, openSloDocuments, type SloTargetRow } from './lib/openslo';
import { announceApi, announceDatabase } from './lib/target';

const USAGE = `usage: npm run slo [-- --env staging|production]
       npm run slo -- export --format openslo [--out slos.yaml] [--database-url <postgres url>] [--env staging|production]
  show (default): vw_kernel_slos (last hour per operation) and vw_slo_burnrate through GET /admin/slos.
    --env refuses a local API_URL; API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY select the deployment.
  export: every SLO target and every enabled burn-rate alert rule as OpenSLO v1 YAML (kinds SLO, SLI,
    AlertPolicy, AlertCondition, AlertNotificationTarget), on stdout or to --out. Reads Postgres
    (--database-url, default DATABASE_URL, else the local one); writes nothing there.`;

const { values, positionals } = parseCli(
  {
    options: { env: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, 'database-url': { type: 'string' } },
    allowPositionals: true,
  },
  USAGE,
);
const [command = 'show', ...extra] = positionals;
if (extra.length > 0) usageError(`unexpected argument: ${extra[0]}`, USAGE);

type Row = Record<string, unknown>;

async function show(): Promise<void> {
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

async function exportOpenSlo(): Promise<void> {
  if (values.format !== 'openslo') usageError('export needs --format openslo (the only format)', USAGE);
  const url = values['database-url'] ?? databaseUrl();
  announceDatabase(url, values.env);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const targets = await client.query<SloTargetRow>(
      'SELECT operation, latency_p95_ms, availability_target, description FROM public.slo_targets ORDER BY operation',
    );
    const rules = await client.query<AlertRuleRow>(
      'SELECT id, description, metric, subject, threshold, for_seconds, severity, enabled FROM public.alert_rules ORDER BY id',
    );
    const docs = openSloDocuments(targets.rows, rules.rows);
    const yaml = docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
    if (values.out) {
      writeFileSync(values.out, yaml);
      process.stderr.write(`wrote ${docs.length} OpenSLO documents to ${values.out}\n`);
    } else process.stdout.write(yaml);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  if (command === 'show') await show();
  else if (command === 'export') await exportOpenSlo();
  else usageError(`unknown command: ${command}`, USAGE);
}

main().catch((err) => fail((err as Error).message));
