// npm run ope -- [--policy P] [--days 7] [--surface S] [--epsilons 0.02,0.2] [--clip 100] [--json]
// Off-policy estimates from the admin API (GET /admin/policy/ope), printed as a table.
import { adminCall, apiConfig } from './lib/api-client';
import { parseCli } from './lib/cli';
import { fail } from './lib/env';
import { announceApi } from './lib/target';

const USAGE = `usage: npm run ope -- [--policy P] [--days 7] [--surface S] [--epsilons 0.02,0.2] [--clip 100] [--json] [--env staging|production]
  Off-policy estimates (IPS, SNIPS, DR with 95 % CIs) from GET /admin/policy/ope.
  --env refuses a local API_URL; API_URL (default http://127.0.0.1:8787) and SERVICE_ROLE_KEY select the deployment.`;

interface Estimate {
  estimate: number | null;
  ci_low: number | null;
  ci_high: number | null;
}
interface OpeReport {
  policy: string;
  days: number;
  surface: string | null;
  clip: number;
  logged: { decisions: number; impressions: number; rewarded: number; reward_per_impression: number | null; without_propensity: number };
  targets: { name: string; epsilon: number | null; ips: Estimate; snips: Estimate; dr: Estimate; ess: number | null; clipped: number }[];
}

const { values } = parseCli(
  {
    options: {
      policy: { type: 'string' },
      days: { type: 'string' },
      surface: { type: 'string' },
      epsilons: { type: 'string' },
      clip: { type: 'string' },
      json: { type: 'boolean', default: false },
      env: { type: 'string' },
    },
  },
  USAGE,
);
announceApi(apiConfig().baseUrl, values.env);

const query = new URLSearchParams();
for (const k of ['policy', 'days', 'surface', 'epsilons', 'clip'] as const) if (values[k]) query.set(k, values[k]!);

const report = await adminCall<OpeReport>('GET', `/admin/policy/ope${query.size ? `?${query}` : ''}`).catch((err: Error) =>
  fail(err.message),
);
if (values.json) {
  console.log(JSON.stringify(report, null, 2));
  process.exit(0);
}
const f = (x: number | null, d = 4) => (x === null ? 'n/a' : x.toFixed(d));
const est = (e: Estimate) => `${f(e.estimate)} [${f(e.ci_low)}, ${f(e.ci_high)}]`;
const l = report.logged;
console.log(
  `policy ${report.policy}, last ${report.days} day(s)${report.surface ? `, surface ${report.surface}` : ''}, weights clipped at ${report.clip}`,
);
console.log(
  `logged: ${l.decisions} decisions, ${l.impressions} impressions, ${l.rewarded} rewarded, reward/impression ${f(l.reward_per_impression)}` +
    (l.without_propensity ? `, ${l.without_propensity} without propensity (not used)` : ''),
);
console.log('reward per impression, estimate [95% CI]:');
const w = [14, 30, 30, 30, 10, 8];
const line = (c: string[]) => console.log(c.map((x, i) => (i === 0 ? x.padEnd(w[0]!) : x.padStart(w[i]!))).join(' '));
line(['target', 'IPS', 'SNIPS', 'DR', 'ESS', 'clipped']);
for (const t of report.targets) line([t.name, est(t.ips), est(t.snips), est(t.dr), f(t.ess, 0), String(t.clipped)]);
