// npm run sim -- --sweep: the evidence behind OPE_SUPPORT. Logging policies of several ε × several
// log sizes × every OPE target, SIM_REPLICATES independent learning runs per cell: how often the
// target is reported, and the CI coverage of each estimator among the runs that reported it (and
// without the support gate). A reported cell far below 0.95 means a threshold is too loose.
//   SIM_SWEEP_EPSILONS=0.02,0.04,0.08,0.15 SIM_SWEEP_DECISIONS=200,500,1000,2000,5000 SIM_REPLICATES=200
import { OPE_TARGETS } from '../../src/ranker';
import { coverage, ESTIMATORS, type TargetCoverage } from './sim-coverage';
import { type RunResult, runSim, type SimConfig } from './sim-run';
import type { World } from './sim-world';

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map(Number);

export interface SweepCell {
  logging_epsilon: number;
  decisions: number;
  target: string;
  coverage: TargetCoverage;
}

export function sweep(world: World, base: Omit<SimConfig, 'epsilon' | 'targets'>, replicates: number, seed: string): SweepCell[] {
  const cells: SweepCell[] = [];
  for (const eps of list('SIM_SWEEP_EPSILONS', '0.02,0.04,0.08,0.15'))
    for (const n of list('SIM_SWEEP_DECISIONS', '200,500,1000,2000,5000')) {
      const cfg: SimConfig = { ...base, epsilon: eps, targets: OPE_TARGETS };
      function* runs(): Generator<RunResult> {
        for (let r = 0; r < replicates; r++) yield runSim(world, cfg, n, `${seed}:sweep:${eps}:${n}:${r}`);
      }
      for (const [target, c] of coverage(OPE_TARGETS, runs())) cells.push({ logging_epsilon: eps, decisions: n, target, coverage: c });
      process.stderr.write(`sweep: logging ε ${eps}, ${n} decisions done\n`);
    }
  return cells;
}

export function printSweep(cells: SweepCell[]): void {
  const f = (x: number | null) => (x === null ? '   —' : x.toFixed(2));
  console.log('logging ε  decisions  target          reported   ESS   IPS   SNIPS  DR    | ungated IPS SNIPS DR');
  for (const c of cells) {
    const cv = c.coverage;
    console.log(
      `${String(c.logging_epsilon).padEnd(10)} ${String(c.decisions).padStart(9)}  ${c.target.padEnd(14)}  ${f(cv.reported_share).padStart(8)} ${cv.mean_ess.toFixed(0).padStart(5)}  ` +
        `${ESTIMATORS.map((k) => f(cv[k].coverage)).join('  ')}  |  ${ESTIMATORS.map((k) => f(cv.ungated[k].coverage)).join('  ')}`,
    );
  }
  const reported = cells.flatMap((c) => ESTIMATORS.filter((k) => c.coverage[k].reported > 0).map((k) => c.coverage[k].coverage!));
  console.log(`\nlowest coverage among reported cells: ${Math.min(...reported).toFixed(3)} (${reported.length} cells × estimators)`);
}
