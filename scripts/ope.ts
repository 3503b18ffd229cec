// npm run ope -- [--policy P] [--days 7] [--surface S] [--epsilons 0.05,0.2] [--json]
// Off-policy estimates from the admin API (GET /admin/policy/ope), printed as a table. The targets
// are the fixed set the rollups keep (greedy, logged, uniform and ε = 0.05, 0.1, 0.2, 0.5;
// --epsilons picks among the ε ones); weights are clipped at 100. A target without support prints
// its reasons instead of numbers (RUNBOOK "Off-policy evaluation").
import { adminCall, apiConfig } from './lib/api-client';
import { parseCli } from './lib/cli';
import { fail } from './lib/env';
import { announceApi } from './lib/target';

const USAGE = `usage: npm run ope -- [--policy P] [--days 7] [--surface S] [--epsilons 0.05,0.2] [--json] [--env staging|production]
  Off-policy estimates (IPS, SNIPS, DR with 95 % CIs, or insufficient_support with the reasons) from
  GET /admin/policy/ope; --epsilons picks among 0.05, 0.1, 0.2, 0.5 (the targets the rollups keep).
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
  reward_range: [number, number];
  logged: { decisions: number; impressions: number; rewarded: number; reward_per_impression: number | null; without_propensity: number };
  targets: {
    name: string;
    epsilon: number | null;
    status: 'ok' | 'insufficient_support';
    reasons: string[];
    ips: Estimate;
    snips: Estimate;
    dr: Estimate;
    ess: number | null;
    decisions: number;
    clipped_mass_share: number | null;
    mean_weight: number | null;
  }[];
}

const { values } = parseCli(
  {
    options: {
      policy: { type: 'string' },
      days: { type: 'string' },
      surface: { type: 'string' },
      epsilons: { type: 'string' },
      json: { type: 'boolean', default: false },
      env: { type: 'string' },
    },
  },
  USAGE,
);
announceApi(apiConfig().baseUrl, values.env);

const query = new URLSearchParams();
for (const k of ['policy', 'days', 'surface', 'epsilons'] as const) if (values[k]) query.set(k, values[k]!);

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
  `policy ${report.policy}, last ${report.days} UTC day(s)${report.surface ? `, surface ${report.surface}` : ''}, weights clipped at ${report.clip}, rewards in [${report.reward_range.join(', ')}]`,
);
console.log(
  `logged: ${l.decisions} decisions, ${l.impressions} impressions, ${l.rewarded} rewarded, reward/impression ${f(l.reward_per_impression)}` +
    (l.without_propensity ? `, ${l.without_propensity} without propensity (not used)` : ''),
);
console.log('reward per impression, estimate [95% CI]; ESS = decision-level effective sample size:');
const w = [13, 30, 30, 30, 8, 9, 7];
const line = (c: string[]) => console.log(c.map((x, i) => (i === 0 ? x.padEnd(w[0]!) : x.padStart(w[i]!))).join(' '));
line(['target', 'IPS', 'SNIPS', 'DR', 'ESS', 'clipped', 'mean w']);
for (const t of report.targets) {
  const diag = [f(t.ess, 0), f(t.clipped_mass_share, 4), f(t.mean_weight, 3)];
  if (t.status === 'ok') line([t.name, est(t.ips), est(t.snips), est(t.dr), ...diag]);
  else {
    line([t.name, 'insufficient_support', '', '', ...diag]);
    for (const r of t.reasons) console.log(`    ${r}`);
  }
}
