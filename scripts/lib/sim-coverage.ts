// CI coverage over independent simulated runs: for each target and estimator, how often the
// reported 95 % interval holds that run's truth, among the runs where the target reported one
// (status ok), with the Monte-Carlo error of that fraction. The same intervals without the support
// gate ("ungated") show what the gate protects against.
import { estimatesFromSums, type OpeEstimates, type OpeSupport, type OpeTarget } from '../../src/ranker';
import type { RunResult } from './sim-run';

export const ESTIMATORS = ['ips', 'snips', 'dr'] as const;
export type Estimator = (typeof ESTIMATORS)[number];

const Z = 1.959963984540054;
const UNGATED: OpeSupport = { minEss: 0, maxMissingMass: Infinity, maxClippedShare: Infinity };

export interface CoverageCell {
  /** Runs that reported an interval, and how many of those held the truth. */
  reported: number;
  covered: number;
  coverage: number | null;
  /** 1.96 · sqrt(p(1−p)/R) at the observed coverage p (0 when p is 0 or 1: see wilson95). */
  mc_error: number | null;
  /** Wilson score 95 % interval of the coverage. */
  wilson95: [number, number] | null;
  /** Mean interval width and mean signed error (estimate − truth) over the reporting runs. */
  mean_width: number | null;
  mean_error: number | null;
}

export interface TargetCoverage {
  replicates: number;
  decisions: number;
  /** Share of runs with status ok. */
  reported_share: number;
  mean_ess: number;
  ips: CoverageCell;
  snips: CoverageCell;
  dr: CoverageCell;
  ungated: Record<Estimator, CoverageCell>;
}

interface Acc {
  reported: number;
  covered: number;
  width: number;
  error: number;
}

const acc = (): Acc => ({ reported: 0, covered: 0, width: 0, error: 0 });

function cell(a: Acc): CoverageCell {
  if (a.reported === 0)
    return { reported: 0, covered: 0, coverage: null, mc_error: null, wilson95: null, mean_width: null, mean_error: null };
  const n = a.reported;
  const p = a.covered / n;
  const centre = (p + (Z * Z) / (2 * n)) / (1 + (Z * Z) / n);
  const half = (Z * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n))) / (1 + (Z * Z) / n);
  return {
    reported: n,
    covered: a.covered,
    coverage: p,
    mc_error: Z * Math.sqrt((p * (1 - p)) / n),
    wilson95: [Math.max(0, centre - half), Math.min(1, centre + half)],
    mean_width: a.width / n,
    mean_error: a.error / n,
  };
}

function tally(into: Record<Estimator, Acc>, e: OpeEstimates, truth: number): void {
  for (const k of ESTIMATORS) {
    const est = e[k];
    if (e.status !== 'ok' || est.ci_low === null || est.ci_high === null || est.estimate === null) continue;
    const a = into[k];
    a.reported++;
    if (est.ci_low <= truth && truth <= est.ci_high) a.covered++;
    a.width += est.ci_high - est.ci_low;
    a.error += est.estimate - truth;
  }
}

/** Coverage per target over the runs that `runs` yields (one run at a time: memory stays flat). */
export function coverage(targets: readonly OpeTarget[], runs: Iterable<RunResult>): Map<string, TargetCoverage> {
  const state = new Map(
    targets.map((t) => [
      t.name,
      {
        gated: { ips: acc(), snips: acc(), dr: acc() } as Record<Estimator, Acc>,
        ungated: { ips: acc(), snips: acc(), dr: acc() } as Record<Estimator, Acc>,
        ok: 0,
        ess: 0,
      },
    ]),
  );
  let replicates = 0;
  let decisions = 0;
  for (const run of runs) {
    replicates++;
    decisions = run.decisions;
    for (const t of targets) {
      const st = state.get(t.name)!;
      const sums = run.sums.get(t.name)!;
      const truth = run.truth.get(t.name)! / run.items;
      const e = estimatesFromSums(sums);
      if (e.status === 'ok') st.ok++;
      st.ess += e.ess ?? 0;
      tally(st.gated, e, truth);
      tally(st.ungated, estimatesFromSums(sums, { support: UNGATED }), truth);
    }
  }
  return new Map(
    [...state].map(([name, st]) => [
      name,
      {
        replicates,
        decisions,
        reported_share: st.ok / replicates,
        mean_ess: st.ess / replicates,
        ips: cell(st.gated.ips),
        snips: cell(st.gated.snips),
        dr: cell(st.gated.dr),
        ungated: { ips: cell(st.ungated.ips), snips: cell(st.ungated.snips), dr: cell(st.ungated.dr) },
      },
    ]),
  );
}
