// What off-policy evaluation reports from the sums of ope.ts, and when it refuses to.
//
// Estimators (reward per impression of the target, weights clipped at OPE_CLIP):
//   IPS = ΣX / Σn      SNIPS = ΣX / ΣW      DR = ΣY / Σn
// A decision is the unit (its items share one weight path); each estimator is a ratio of sums
// over decisions, and its 95 % interval is the delta-method normal interval of that ratio
// (Var ≈ N/(N−1)·Σ_d (A_d − V·B_d)² / (ΣB)²) widened by a bound on its bias. The bias: with exact
// propensities E[ρ_k] = 1 at every position, so the weight the estimators do not see,
//   m = 1 − E[Σ_k min(ρ_k, clip)] / E[n]   (estimated by max(1 − ΣW/Σn, Σ(ρ − ρc)/Σn, 0)),
// is probability mass of the target that is clipped away or lies in slates the logging policy
// (almost) never explores — and whatever it earns lies in the reward range [r_lo, r_hi] (the
// configured range, widened to the rewards and the 0 of an unrewarded impression actually seen):
//   IPS:   V − IPS   ∈ m · [r_lo, r_hi]
//   SNIPS: V − SNIPS ∈ m · [r_lo − s, r_hi − s]                    (s = the SNIPS estimate)
//   DR:    V − DR    ∈ m_prev · [q_lo, q_hi] + m · [r_lo − q_hi, r_hi − q_lo]
//          (m_prev likewise for ρ_{k−1}; [q_lo, q_hi] = the model values seen)
// (Bottou et al. 2013, "Counterfactual reasoning and learning systems", bound the capped-weight
// estimator's bias the same way, from E[w] = 1.) The heavy-weight failure of a plain normal
// interval — a sample that has not met the rare large weights underestimates and looks precise —
// is exactly a shortfall of the mean weight, so this widening is what keeps coverage there
// (scripts/sim.ts; the RUNBOOK has the figures). Why not a bootstrap: with heavy weights it fails
// the same way (it can only resample the weights it has seen), and per-day Poisson-bootstrap
// replicates would multiply the rollup ~200-fold. Why not empirical Bernstein: its range term
// (7·b·ln(2/δ)/3(n−1), b = slate length × clip) dwarfs the sampling error here.
//
// Reported only with support; otherwise status `insufficient_support` with the reasons, no number:
//   - decision-level Kish ESS = (Σ_d W_d)² / Σ_d W_d² ≥ minEss (never above the number of decisions);
//   - mean clipped weight ΣW/Σn ≥ 1 − maxMissingMass (else the interval is mostly bias bound);
//   - at most maxClippedShare of the weight mass Σρ lies above the clip.
import type { OpeSums } from './ope';

const Z95 = 1.959963984540054;

/** Support thresholds (tuned on scripts/sim.ts evidence; the RUNBOOK quotes them and the evidence). */
export const OPE_SUPPORT = { minEss: 100, maxMissingMass: 0.05, maxClippedShare: 0.05 };
export type OpeSupport = typeof OPE_SUPPORT;

/** The documented default reward range (part A's reward_ranges '*' row). */
export const DEFAULT_REWARD_RANGE: readonly [number, number] = [0, 1];

export interface Estimate {
  estimate: number | null;
  se: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

export type OpeStatus = 'ok' | 'insufficient_support';

export interface OpeEstimates {
  status: OpeStatus;
  /** Why the status is insufficient_support (empty when ok). */
  reasons: string[];
  decisions: number;
  impressions: number;
  /** Decision-level Kish effective sample size of W_d = Σ_k min(ρ_k, clip); ≤ decisions. */
  ess: number | null;
  /** Items whose cumulative weight exceeded the clip. */
  clipped: number;
  /** Σ(ρ − min(ρ, clip)) / Σρ: the share of the weight mass the clip removed. */
  clipped_mass_share: number | null;
  /** Σ min(ρ, clip) / impressions: 1 in expectation with full support and nothing clipped. */
  mean_weight: number | null;
  ips: Estimate;
  snips: Estimate;
  dr: Estimate;
}

export interface EstimateOptions {
  /** A priori range of a reward (the surface's configured range); default [0, 1]. */
  rewardRange?: readonly [number, number];
  support?: Partial<OpeSupport>;
}

const none: Estimate = { estimate: null, se: null, ci_low: null, ci_high: null };

/** Ratio V = ΣA/ΣB over N decisions and its delta-method standard error. */
function ratio(N: number, a: number, b: number, a2: number, ab: number, b2: number): { v: number; se: number } | null {
  if (N < 2 || b === 0) return null;
  const v = a / b;
  const ss = Math.max(0, a2 - 2 * v * ab + v * v * b2);
  return { v, se: Math.sqrt((N / (N - 1)) * ss) / Math.abs(b) };
}

/** The normal interval of r, shifted by [lowShift, highShift] (the clipping-bias bound). */
function interval(r: { v: number; se: number } | null, lowShift: number, highShift: number): Estimate {
  if (!r) return none;
  return { estimate: r.v, se: r.se, ci_low: r.v - Z95 * r.se + lowShift, ci_high: r.v + Z95 * r.se + highShift };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

export function estimatesFromSums(s: OpeSums, opts: EstimateOptions = {}): OpeEstimates {
  const support = { ...OPE_SUPPORT, ...opts.support };
  const N = s.decisions;
  const ess = s.w2 > 0 ? (s.w * s.w) / s.w2 : null;
  const excess = Math.max(0, s.rho - s.w);
  const clippedShare = s.rho > 0 ? excess / s.rho : null;
  const meanWeight = s.items > 0 ? s.w / s.items : null;
  const base = {
    decisions: N,
    impressions: s.items,
    ess,
    clipped: s.clipped,
    clipped_mass_share: clippedShare,
    mean_weight: meanWeight,
  };

  const reasons: string[] = [];
  if (N === 0) reasons.push('no decisions with propensities in the window');
  else {
    if (ess === null || ess < support.minEss)
      reasons.push(
        `decision-level ESS ${(ess ?? 0).toFixed(0)} is below ${support.minEss}: the target would have made too few of the logged decisions`,
      );
    if (meanWeight !== null && 1 - meanWeight > support.maxMissingMass)
      reasons.push(
        `weights average ${meanWeight.toFixed(3)} per impression instead of 1: ${pct(1 - meanWeight)} of the target's probability mass is clipped or in slates the logging policy (almost) never explored`,
      );
    if (clippedShare !== null && clippedShare > support.maxClippedShare)
      reasons.push(`${pct(clippedShare)} of the weight mass is above the clip`);
  }
  if (reasons.length > 0) return { status: 'insufficient_support', reasons, ...base, ips: none, snips: none, dr: none };

  // Reward range: the configured one, widened to every reward seen and to 0 (an unrewarded impression).
  const [cfgLo, cfgHi] = opts.rewardRange ?? DEFAULT_REWARD_RANGE;
  const rLo = Math.min(cfgLo, s.r_min ?? 0, 0);
  const rHi = Math.max(cfgHi, s.r_max ?? 0, 0);
  const qLo = s.q_min ?? 0;
  const qHi = s.q_max ?? 0;
  // The weight mass the estimators miss, per impression (m) and as a share of the mass (c).
  const deficit = 1 - s.w / s.items;
  const m = Math.max(0, excess / s.items, deficit);
  const mPrev = Math.max(0, (s.rho_prev - s.wp) / s.items, 1 - s.wp / s.items);
  const c = Math.max(0, clippedShare ?? 0, deficit);
  const ips = ratio(N, s.x, s.items, s.x2, s.xn, s.n2);
  const snips = ratio(N, s.x, s.w, s.x2, s.xw, s.w2);
  const dr = ratio(N, s.y, s.items, s.y2, s.yn, s.n2);
  return {
    status: 'ok',
    reasons,
    ...base,
    ips: interval(ips, rLo * m, rHi * m),
    snips: interval(snips, snips ? c * (rLo - snips.v) : 0, snips ? c * (rHi - snips.v) : 0),
    dr: interval(dr, mPrev * qLo + m * (rLo - qHi), mPrev * qHi + m * (rHi - qLo)),
  };
}
