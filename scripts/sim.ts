// npm run sim [-- --json | --sweep] — a synthetic population with hidden reward rates drives the real ranker
// (rank()) and the real OPE estimators (src/ranker/ope*.ts), with the learning loop simulated as
// in production (scripts/lib/sim-run.ts). Prints regret vs uniform and vs the oracle, exploration
// vs ε, every OPE target's estimates against its exact truth (same estimand: the target on the
// logged decisions' candidates and scores), and CI coverage per target over independent runs of
// SIM_REPLICATE_DECISIONS decisions. --json prints one JSON document instead. Exits 1 if a check fails:
// every target that reports an interval must cover its truth in ≥ 90 % of the runs that report one.
// --sweep instead prints the evidence behind the support thresholds (scripts/lib/sim-sweep.ts).
//   SIM_DECISIONS=100000 SIM_CANDIDATES=50 SIM_SLATE=10 SIM_EPSILON=0.08 SIM_ROLLUP_EVERY=500
//   SIM_REPLICATES=200 SIM_REPLICATE_DECISIONS=20000 SIM_SEED=1
import { estimatesFromSums, OPE_CLIP, OPE_SUPPORT, OPE_TARGETS } from '../src/ranker';
import { parseCli } from './lib/cli';
import { envNumber } from './lib/env';
import { coverage, ESTIMATORS } from './lib/sim-coverage';
import { type RunResult, runSim, type SimConfig } from './lib/sim-run';
import { printSweep, sweep } from './lib/sim-sweep';
import { makeWorld } from './lib/sim-world';

const { values: args } = parseCli(
  { options: { json: { type: 'boolean', default: false }, sweep: { type: 'boolean', default: false } } },
  `usage: npm run sim [-- --json | --sweep]
  A synthetic population drives the real ranker and OPE estimators in this process (no API, no database;
  writes nothing). Exits 1 if a regret / exploration / OPE coverage check fails. --json: one JSON document;
  --sweep: the evidence behind the OPE support thresholds. Knobs (environment):
  SIM_DECISIONS=100000 SIM_CANDIDATES=50 SIM_SLATE=10 SIM_EPSILON=0.08 SIM_ROLLUP_EVERY=500
  SIM_REPLICATES=200 SIM_REPLICATE_DECISIONS=20000 SIM_SEED=1`,
);
const N = envNumber('SIM_DECISIONS', 100_000);
const NC = envNumber('SIM_CANDIDATES', 50);
const REPS = envNumber('SIM_REPLICATES', 200);
const REP_N = envNumber('SIM_REPLICATE_DECISIONS', 20_000);
const SEED = process.env.SIM_SEED ?? '1';
const cfg: SimConfig = {
  slate: envNumber('SIM_SLATE', 10),
  epsilon: envNumber('SIM_EPSILON', 0.08),
  rollupEvery: envNumber('SIM_ROLLUP_EVERY', 500),
  targets: OPE_TARGETS,
};
const MIN_COVERAGE = 0.9;

const world = makeWorld(NC, cfg.slate, SEED);
if (args.sweep) {
  printSweep(sweep(world, { slate: cfg.slate, rollupEvery: cfg.rollupEvery }, REPS, SEED));
  process.exit(0);
}
const started = performance.now();
const checkpointsAt = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000].filter((c) => c < N).concat(N);
const main = runSim(world, cfg, N, SEED, checkpointsAt);
const mainSeconds = (performance.now() - started) / 1000;

function* replicates(): Generator<RunResult> {
  for (let r = 0; r < REPS; r++) yield runSim(world, cfg, REP_N, `${SEED}:rep${r}`);
}
const covStarted = performance.now();
const cov = coverage(cfg.targets, replicates());
const covSeconds = (performance.now() - covStarted) / 1000;

const targets = cfg.targets.map((t) => {
  const e = estimatesFromSums(main.sums.get(t.name)!);
  return { name: t.name, epsilon: t.epsilon, truth: main.truth.get(t.name)! / main.items, ...e, coverage: cov.get(t.name)! };
});

const last = main.checkpoints.at(-1)!;
const first = main.checkpoints[0]!;
const exploredRate = last.explored / last.items;
const greedy = targets.find((t) => t.name === 'greedy')!;
const rel = (est: number | null, truth: number) => (est === null ? Number.NaN : (100 * (est - truth)) / truth);
const checks: { name: string; pass: boolean }[] = [
  {
    name: 'policy learns: regret ratio vs uniform falls (first → last checkpoint)',
    pass: last.regret / last.regretUniform < first.regret / first.regretUniform,
  },
  { name: 'regret grows sublinearly vs uniform: final ratio < 0.5', pass: last.regret / last.regretUniform < 0.5 },
  { name: `explored share ${exploredRate.toFixed(4)} within ε ± 10%`, pass: Math.abs(exploredRate - cfg.epsilon) <= 0.1 * cfg.epsilon },
  {
    name: `greedy reported, IPS, SNIPS and DR within 5% of the truth at ${N} decisions`,
    pass: greedy.status === 'ok' && ESTIMATORS.every((k) => Math.abs(rel(greedy[k].estimate, greedy.truth)) <= 5),
  },
  ...targets.flatMap((t) =>
    ESTIMATORS.filter((k) => t.coverage[k].reported > 0).map((k) => ({
      name: `${t.name} ${k.toUpperCase()}: CI coverage ${t.coverage[k].coverage!.toFixed(3)} ≥ ${MIN_COVERAGE} over the ${t.coverage[k].reported} of ${REPS} runs (${REP_N} decisions) that reported it`,
      pass: t.coverage[k].coverage! >= MIN_COVERAGE,
    })),
  ),
];
const pass = checks.every((c) => c.pass);

if (args.json) {
  const doc = {
    config: {
      decisions: N,
      candidates: NC,
      slate: cfg.slate,
      epsilon: cfg.epsilon,
      rollup_every: cfg.rollupEvery,
      seed: SEED,
      clip: OPE_CLIP,
      support: OPE_SUPPORT,
      replicates: REPS,
      replicate_decisions: REP_N,
      nominal: 0.95,
      min_coverage: MIN_COVERAGE,
    },
    world: { oracle: world.oracle, uniform: world.uniform },
    regret: main.checkpoints,
    targets,
    checks,
    pass,
    seconds: { main: mainSeconds, coverage: covSeconds },
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  process.exit(pass ? 0 : 1);
}

const fmt = (x: number | null | undefined, d = 4) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const row = (cells: string[], widths: number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join('  ');

console.log(
  `sim: ${N} decisions, ${NC} candidates with hidden rates, slate ${cfg.slate}, ε = ${cfg.epsilon}, rollup every ${cfg.rollupEvery} decisions, seed ${SEED}`,
);
console.log(`oracle slate reward ${world.oracle.toFixed(4)}, uniform ${world.uniform.toFixed(4)} (per decision)\n`);
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
  `* regret per decision since the previous row; uniform loses ${(world.oracle - world.uniform).toFixed(4)} per decision. ε = ${cfg.epsilon}.\n`,
);

console.log(`Off-policy estimates at ${N} logged decisions (reward per impression; clip ${OPE_CLIP}; truth = exact expectation)`);
w = [13, 7, 24, 24, 24, 7, 8, 7];
console.log(row(['target', 'truth', 'IPS [95% CI]', 'SNIPS [95% CI]', 'DR [95% CI]', 'ESS', 'clipped', 'mean w'], w));
const ci = (e: { estimate: number | null; ci_low: number | null; ci_high: number | null }) =>
  e.estimate === null ? '—' : `${fmt(e.estimate)} [${fmt(e.ci_low)}, ${fmt(e.ci_high)}]`;
for (const t of targets) {
  console.log(
    row([t.name, fmt(t.truth), ci(t.ips), ci(t.snips), ci(t.dr), fmt(t.ess, 0), fmt(t.clipped_mass_share, 4), fmt(t.mean_weight, 3)], w),
  );
  for (const r of t.reasons) console.log(`    insufficient_support: ${r}`);
}
console.log('(clipped = share of the weight mass above the clip; mean w = clipped weight per impression, 1 with full support)\n');

console.log(
  `CI coverage over ${REPS} runs of ${REP_N} decisions (nominal 95 %; coverage among the runs that reported the target, ± Monte-Carlo error; ungated = without the support gate)`,
);
w = [13, 9, 8, 16, 16, 16, 22];
console.log(row(['target', 'reported', 'ESS', 'IPS', 'SNIPS', 'DR', 'ungated IPS/SNIPS/DR'], w));
const cc = (c: { coverage: number | null; mc_error: number | null }) =>
  c.coverage === null ? '—' : `${fmt(c.coverage, 3)} ±${fmt(c.mc_error, 3)}`;
for (const t of targets) {
  const c = t.coverage;
  console.log(
    row(
      [
        t.name,
        fmt(c.reported_share, 2),
        fmt(c.mean_ess, 0),
        cc(c.ips),
        cc(c.snips),
        cc(c.dr),
        ESTIMATORS.map((k) => fmt(c.ungated[k].coverage, 2)).join(' / '),
      ],
      w,
    ),
  );
}
console.log('');
for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}`);
console.log(`(${mainSeconds.toFixed(1)} s for the main run, ${covSeconds.toFixed(1)} s for the coverage runs)`);
process.exit(pass ? 0 : 1);
