// Off-policy evaluation of slate policies from the propensity log.
//
// Estimand: a target policy's expected reward per slate position (impression), unrewarded
// impressions counting as 0. The target policies are the epsilon-greedy family over the same
// exploit scores (ε = 0 greedy, ε = 1 uniform, any ε between) and the logging policy itself.
//
// Position k of a decision is reached by the target only if it would also have produced the logged
// prefix, so each reward is weighted by the cumulative ratio ρ_k = Π_{j≤k} π_t(a_j|R_j)/p_exp_j
// (per-decision importance sampling; unbiased with exact propensities). Estimators, per impression:
//   IPS   = Σ_d Σ_k ρ_k r_k / Σ_d n_d
//   SNIPS = Σ_d Σ_k ρ_k r_k / Σ_d Σ_k ρ_k
//   DR    = Σ_d Σ_k [ρ_{k−1}·DM_k + ρ_k (r_k − q̂_k)] / Σ_d n_d,  DM_k = E_{a~π_t(R_k)} q̂(a)
// 95 % confidence intervals treat a decision as the unit (its items are correlated) and use the
// delta method for the ratios. Weights above `clip` are clipped (biased, bounded) and counted.
// The same sums are computed in SQL for GET /admin/policy/ope (src/learning/queries-ope.ts).

export interface OpeItem {
  position: number;
  p_exp: number;
  is_greedy: boolean;
  n_remaining: number;
  /** Observed reward, 0 when none was reported. */
  reward: number;
  /** Exploit score of the logged candidate (the reward model's prediction for it). */
  q_hat: number;
  q_greedy: number;
  q_mean: number;
}

/** A target policy: epsilon-greedy with this ε, or `null` for the logging policy itself. */
export interface OpeTarget {
  name: string;
  epsilon: number | null;
}

export const DEFAULT_CLIP = 100;
const Z95 = 1.959963984540054;

/** ε the logging policy used at this position, recovered exactly from p_exp. */
export function loggedEpsilon(it: OpeItem): number {
  const m = it.n_remaining;
  if (m <= 1) return 0;
  return it.is_greedy ? ((1 - it.p_exp) * m) / (m - 1) : it.p_exp * m;
}

/** π_t(a | R): probability the target puts the logged candidate at this position. */
export function targetProbability(epsilon: number, isGreedy: boolean, nRemaining: number): number {
  return (isGreedy ? 1 - epsilon : 0) + epsilon / nRemaining;
}

function weight(t: OpeTarget, it: OpeItem): number {
  return t.epsilon === null ? 1 : targetProbability(t.epsilon, it.is_greedy, it.n_remaining) / it.p_exp;
}

function directMethod(t: OpeTarget, it: OpeItem): number {
  const eps = t.epsilon ?? loggedEpsilon(it);
  return (1 - eps) * it.q_greedy + eps * it.q_mean;
}

/** Additive sufficient statistics (over decisions d with n_d items, X_d, W_d, Y_d as above). */
export interface OpeSums {
  decisions: number;
  items: number;
  x: number;
  x2: number;
  xn: number;
  n2: number;
  w: number;
  w2: number;
  xw: number;
  y: number;
  y2: number;
  yn: number;
  /** Item-level Σρ and Σρ² (effective sample size). */
  iw: number;
  iw2: number;
  clipped: number;
}

export const emptySums = (): OpeSums => ({
  decisions: 0,
  items: 0,
  x: 0,
  x2: 0,
  xn: 0,
  n2: 0,
  w: 0,
  w2: 0,
  xw: 0,
  y: 0,
  y2: 0,
  yn: 0,
  iw: 0,
  iw2: 0,
  clipped: 0,
});

/** Add one decision's items (any order; they are sorted by position here). */
export function addDecision(s: OpeSums, items: readonly OpeItem[], t: OpeTarget, clip = DEFAULT_CLIP): void {
  if (items.length === 0) return;
  const sorted = items.length > 1 ? [...items].sort((a, b) => a.position - b.position) : items;
  let rhoPrev = 1;
  let X = 0,
    W = 0,
    Y = 0;
  for (const it of sorted) {
    const rho = rhoPrev * weight(t, it);
    if (rho > clip) s.clipped++;
    const rc = Math.min(rho, clip);
    const rpc = Math.min(rhoPrev, clip);
    X += rc * it.reward;
    W += rc;
    Y += rpc * directMethod(t, it) + rc * (it.reward - it.q_hat);
    s.iw += rc;
    s.iw2 += rc * rc;
    rhoPrev = rho;
  }
  const n = sorted.length;
  s.decisions++;
  s.items += n;
  s.x += X;
  s.x2 += X * X;
  s.xn += X * n;
  s.n2 += n * n;
  s.w += W;
  s.w2 += W * W;
  s.xw += X * W;
  s.y += Y;
  s.y2 += Y * Y;
  s.yn += Y * n;
}

export function mergeSums(a: OpeSums, b: OpeSums): OpeSums {
  const out = emptySums();
  for (const k of Object.keys(out) as (keyof OpeSums)[]) out[k] = a[k] + b[k];
  return out;
}

export interface Estimate {
  estimate: number | null;
  se: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

export interface OpeEstimates {
  decisions: number;
  impressions: number;
  ips: Estimate;
  snips: Estimate;
  dr: Estimate;
  /** Effective sample size of the (clipped) item weights: (Σρ)² / Σρ². */
  ess: number | null;
  clipped: number;
}

const none: Estimate = { estimate: null, se: null, ci_low: null, ci_high: null };

/**
 * Ratio estimator V = ΣA/ΣB over decisions, with its delta-method standard error:
 * Var(V) ≈ N/(N−1) · Σ(A_d − V·B_d)² / (ΣB)².
 */
function ratio(N: number, a: number, b: number, a2: number, ab: number, b2: number): Estimate {
  if (N === 0 || b === 0) return none;
  const v = a / b;
  const ss = Math.max(0, a2 - 2 * v * ab + v * v * b2);
  const se = N > 1 ? Math.sqrt((N / (N - 1)) * ss) / Math.abs(b) : null;
  return { estimate: v, se, ci_low: se === null ? null : v - Z95 * se, ci_high: se === null ? null : v + Z95 * se };
}

export function estimatesFromSums(s: OpeSums): OpeEstimates {
  const N = s.decisions;
  return {
    decisions: N,
    impressions: s.items,
    ips: ratio(N, s.x, s.items, s.x2, s.xn, s.n2),
    snips: ratio(N, s.x, s.w, s.x2, s.xw, s.w2),
    dr: ratio(N, s.y, s.items, s.y2, s.yn, s.n2),
    ess: s.iw2 > 0 ? (s.iw * s.iw) / s.iw2 : null,
    clipped: s.clipped,
  };
}

/** The default targets: greedy, the logging policy, uniform, and any extra epsilons. */
export function defaultTargets(extraEpsilons: readonly number[] = []): OpeTarget[] {
  const extra = [...new Set(extraEpsilons)].filter((e) => e > 0 && e < 1).sort((a, b) => a - b);
  return [
    { name: 'greedy', epsilon: 0 },
    { name: 'logged', epsilon: null },
    { name: 'uniform', epsilon: 1 },
    ...extra.map((e) => ({ name: `epsilon=${e}`, epsilon: e })),
  ];
}
