// npm run sim — a synthetic population with hidden reward rates drives the real ranker (rank())
// and the real OPE estimators, with the learning loop simulated as in production: events and
// rewards are rolled up every SIM_ROLLUP_EVERY decisions into per-candidate stats the ranker reads.
// Prints regret vs uniform and vs the oracle, exploration vs ε, and each OPE estimate of the
// greedy policy against its true value with CI coverage. Exits 1 if a target is missed.
//   SIM_DECISIONS=100000 SIM_CANDIDATES=50 SIM_SLATE=10 SIM_EPSILON=0.08 SIM_ROLLUP_EVERY=500
//   SIM_REPLICATES=200 SIM_REPLICATE_DECISIONS=5000 SIM_SEED=1
import {
  addDecision,
  type CandidateStats,
  defaultTargets,
  emptySums,
  epsilonGreedySlate,
  estimatesFromSums,
  type OpeItem,
  type OpeSums,
  type OpeTarget,
  type RankFeatures,
  rank,
  scoreRequestCandidates,
  topK,
} from '../src/ranker';
import { parseCli } from './lib/cli';
import { envNumber } from './lib/env';
import { makeWorld, seeded, simDecisionId, slateValue, type World } from './lib/sim-world';

parseCli(
  { options: {} },
  `usage: npm run sim
  A synthetic population drives the real ranker and OPE estimators in this process (no API, no database;
  writes nothing). Exits 1 if a regret / exploration / OPE coverage target is missed. Knobs (environment):
  SIM_DECISIONS=100000 SIM_CANDIDATES=50 SIM_SLATE=10 SIM_EPSILON=0.08 SIM_ROLLUP_EVERY=500
  SIM_REPLICATES=200 SIM_REPLICATE_DECISIONS=5000 SIM_SEED=1`,
);

const N = envNumber('SIM_DECISIONS', 100_000);
const NC = envNumber('SIM_CANDIDATES', 50);
const K = envNumber('SIM_SLATE', 10);
const EPS = envNumber('SIM_EPSILON', 0.08);
const ROLLUP = envNumber('SIM_ROLLUP_EVERY', 500);
const REPS = envNumber('SIM_REPLICATES', 200);
const REP_N = envNumber('SIM_REPLICATE_DECISIONS', 5_000);
const SEED = process.env.SIM_SEED ?? '1';

const TARGETS: OpeTarget[] = defaultTargets([0.2]);

interface RunResult {
  checkpoints: { t: number; regret: number; regretUniform: number; explored: number; items: number }[];
  sums: Map<string, OpeSums>;
  /** Σ over decisions of each target's expected slate reward (the truth, per impression after /K·N). */
  truth: Map<string, number>;
  decisions: number;
}

function run(world: World, n: number, seed: string, checkpointsAt: number[]): RunResult {
  const counts = new Map<string, CandidateStats>();
  let features: RankFeatures = { surface: { meanReward: 0, stats: new Map(), popular: [], recent: [] } };
  const candidates = world.ids.map((id) => ({ id }));
  const rewardRng = seeded(`rewards:${seed}`);
  const targetRng = seeded(`targets:${seed}`);
  const sums = new Map(TARGETS.map((t) => [t.name, emptySums()]));
  const truth = new Map(TARGETS.map((t) => [t.name, 0]));
  const out: RunResult = { checkpoints: [], sums, truth, decisions: n };
  let regret = 0,
    regretUniform = 0,
    explored = 0,
    items = 0,
    rewardTotal = 0,
    impressions = 0;

  for (let i = 0; i < n; i++) {
    if (i % ROLLUP === 0 && i > 0) {
      // The */5 rollup + hydrate-features: the ranker sees the stats as of now.
      features = {
        surface: {
          meanReward: impressions ? rewardTotal / impressions : 0,
          stats: new Map([...counts].map(([k, v]) => [k, { ...v }])),
          popular: [],
          recent: [],
        },
      };
    }
    const d = rank({
      decisionId: simDecisionId(seed, i),
      limit: K,
      policy: { version: 'epsilon_greedy_v1', epsilon: EPS },
      safeMode: false,
      candidates,
      features,
    });
    const served = d.items.map((it) => it.candidate_id);
    const value = slateValue(world, served);
    regret += world.oracle - value;
    regretUniform += world.oracle - world.uniform;

    const logged: OpeItem[] = d.items.map((it) => {
      const r = rewardRng() < world.rate.get(it.candidate_id)! ? 1 : 0;
      const c = counts.get(it.candidate_id) ?? { impressions: 0, rewardSum: 0 };
      c.impressions++;
      c.rewardSum += r;
      counts.set(it.candidate_id, c);
      rewardTotal += r;
      impressions++;
      if (it.explored) explored++;
      items++;
      return {
        position: it.position,
        p_exp: it.p_exp,
        is_greedy: it.ope!.is_greedy,
        n_remaining: it.ope!.n_remaining,
        reward: r,
        q_hat: it.score,
        q_greedy: it.ope!.q_greedy,
        q_mean: it.ope!.q_mean,
      };
    });
    for (const t of TARGETS) addDecision(sums.get(t.name)!, logged, t);

    // True expected slate reward of each target under the scores this decision was made with.
    const scored = scoreRequestCandidates(candidates, features);
    for (const t of TARGETS) {
      let v: number;
      if (t.epsilon === 0)
        v = slateValue(
          world,
          topK(scored, K).map((j) => scored[j]!.id),
        );
      else if (t.epsilon === 1) v = world.uniform;
      else if (t.epsilon === null) v = value;
      else
        v = slateValue(
          world,
          epsilonGreedySlate(scored, K, t.epsilon, targetRng).map((x) => x.candidate_id),
        ); // one unbiased draw
      truth.set(t.name, truth.get(t.name)! + v);
    }
    if (checkpointsAt.includes(i + 1)) out.checkpoints.push({ t: i + 1, regret, regretUniform, explored, items });
  }
  return out;
}

const fmt = (x: number | null | undefined, d = 4) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
const pad = (s: string, w: number) => s.padStart(w);
const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : pad(c, widths[i]!))).join('  ');

const world = makeWorld(NC, K, SEED);
console.log(
  `sim: ${N} decisions, ${NC} candidates with hidden rates, slate ${K}, ε = ${EPS}, rollup every ${ROLLUP} decisions, seed ${SEED}`,
);
console.log(`oracle slate reward ${world.oracle.toFixed(4)}, uniform ${world.uniform.toFixed(4)} (per decision)\n`);

const started = performance.now();
const checkpoints = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000].filter((c) => c < N).concat(N);
const main = run(world, N, SEED, checkpoints);
const elapsed = (performance.now() - started) / 1000;

console.log('Cumulative regret (expected reward lost vs the oracle slate)');
let w = [10, 16, 16, 10, 22, 14];
console.log(row(['decisions', 'eps-greedy', 'uniform', 'ratio', 'eps-greedy/decision*', 'explored'], w));
let prev = { t: 0, regret: 0 };
for (const c of main.checkpoints) {
  const window = (c.regret - prev.regret) / (c.t - prev.t);
  console.log(
    row(
      [
        String(c.t),
        fmt(c.regret, 1),
        fmt(c.regretUniform, 1),
        fmt(c.regret / c.regretUniform, 3),
        fmt(window, 4),
        fmt(c.explored / c.items, 4),
      ],
      w,
    ),
  );
  prev = c;
}
console.log(
  `* regret per decision since the previous row; uniform loses ${(world.oracle - world.uniform).toFixed(4)} per decision. ε = ${EPS}.\n`,
);

console.log(`Off-policy estimates at ${N} logged decisions (reward per impression; truth = exact expectation)`);
w = [12, 8, 8, 8, 8, 8, 8, 8, 9, 8];
console.log(row(['target', 'truth', 'IPS', 'err%', 'SNIPS', 'err%', 'DR', 'err%', 'ESS', 'clipped'], w));
const rel = (est: number | null, truth: number) => (est === null ? NaN : (100 * (est - truth)) / truth);
const greedyErrors: number[] = [];
for (const t of TARGETS) {
  const e = estimatesFromSums(main.sums.get(t.name)!);
  const truth = main.truth.get(t.name)! / (K * N);
  const errs = [rel(e.ips.estimate, truth), rel(e.snips.estimate, truth), rel(e.dr.estimate, truth)];
  if (t.name === 'greedy') greedyErrors.push(...errs);
  console.log(
    row(
      [
        t.name,
        fmt(truth),
        fmt(e.ips.estimate),
        fmt(errs[0], 2),
        fmt(e.snips.estimate),
        fmt(errs[1], 2),
        fmt(e.dr.estimate),
        fmt(errs[2], 2),
        fmt(e.ess, 0),
        String(e.clipped),
      ],
      w,
    ),
  );
}
const g = estimatesFromSums(main.sums.get('greedy')!);
console.log(
  `greedy 95% CIs: IPS [${fmt(g.ips.ci_low)}, ${fmt(g.ips.ci_high)}]  SNIPS [${fmt(g.snips.ci_low)}, ${fmt(g.snips.ci_high)}]  DR [${fmt(g.dr.ci_low)}, ${fmt(g.dr.ci_high)}]\n`,
);

// Coverage: independent replicates (fresh learning runs), how often each 95% CI holds the truth.
const cover = { ips: 0, snips: 0, dr: 0 };
for (let r = 0; r < REPS; r++) {
  const res = run(world, REP_N, `${SEED}:rep${r}`, []);
  const e = estimatesFromSums(res.sums.get('greedy')!);
  const truth = res.truth.get('greedy')! / (K * REP_N);
  for (const k of ['ips', 'snips', 'dr'] as const) if (e[k].ci_low! <= truth && truth <= e[k].ci_high!) cover[k]++;
}
const coverageSe = 100 * Math.sqrt((0.95 * 0.05) / REPS);
console.log(
  `CI coverage of the greedy truth over ${REPS} replicates of ${REP_N} decisions (nominal 95%, ±${coverageSe.toFixed(1)}% sampling error):`,
);
console.log(
  `  IPS ${((100 * cover.ips) / REPS).toFixed(0)}%   SNIPS ${((100 * cover.snips) / REPS).toFixed(0)}%   DR ${((100 * cover.dr) / REPS).toFixed(0)}%\n`,
);

const last = main.checkpoints.at(-1)!;
const first = main.checkpoints[0]!;
const exploredRate = last.explored / last.items;
const checks: [string, boolean][] = [
  [
    'policy learns: regret ratio vs uniform falls (first → last checkpoint)',
    last.regret / last.regretUniform < first.regret / first.regretUniform,
  ],
  ['regret grows sublinearly vs uniform: final ratio < 0.5', last.regret / last.regretUniform < 0.5],
  [`explored share ${exploredRate.toFixed(4)} within ε ± 10%`, Math.abs(exploredRate - EPS) <= 0.1 * EPS],
  ['greedy IPS, SNIPS and DR within 5% of the truth', greedyErrors.every((e) => Math.abs(e) <= 5)],
];
for (const [name, ok] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}`);
console.log(`(${elapsed.toFixed(1)} s for the main run)`);
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
