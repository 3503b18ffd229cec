// Off-policy evaluation of slate policies from the propensity log: the per-decision sums.
// (What we report from them, with which interval and when we refuse to: ope-estimates.ts.)
//
// Estimand: a target policy's expected reward per slate position (impression), unrewarded
// impressions counting as 0, on the contexts (candidate sets and exploit scores) the logging
// policy actually met: V = E[Σ_k r_k under the target] / E[n], n = slate length. The targets are the
// epsilon-greedy family over the same exploit scores (ε = 0 greedy, ε = 1 uniform, ε between) and
// the logging policy itself.
//
// Position k of a decision is reached by the target only if it would also have produced the logged
// prefix, so each reward is weighted by the cumulative ratio ρ_k = Π_{j≤k} π_t(a_j|R_j)/p_exp_j
// (per-decision importance sampling, "RIPS" in Open Bandit Pipeline's naming: exact for slates
// whose positions interact, unbiased with exact propensities, E[ρ_k] = 1 at every position). Per
// decision d with n_d items, weights clipped at OPE_CLIP (ρc = min(ρ, clip)):
//   X_d = Σ_k ρc_k r_k      W_d = Σ_k ρc_k      Y_d = Σ_k [ρc_{k−1} DM_k + ρc_k (r_k − q̂_k)]
//   DM_k = E_{a~π_t(R_k)} q̂(a) = (1−ε) q_greedy + ε q_mean (doubly robust, reward model = exploit score)
// plus the unclipped masses Σρ and Σρ_{k−1} (how much weight the clip removed) and the ranges of the
// rewards and model values seen (what the removed weight could have been worth). Every field of
// OpeSums is a sum over decisions (or a min/max), so days, surfaces and the unrolled tail add up:
// the */5 rollup keeps them per day in learning_ope_daily (migration 0720, learning_ope_changes(),
// which mirrors addDecision() exactly; test/worker/policy-ope.test.ts checks both on the same data).

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

/**
 * Weights above this are clipped. 100 keeps the ε ≤ 0.2 targets of an ε = 0.08 logger essentially
 * unclipped (scripts/sim.ts shows the clipped mass) while bounding what one decision can weigh.
 * Fixed: the rollups are computed at this clip (GET /admin/policy/ope answers 400 for any other).
 */
export const OPE_CLIP = 100;
/** Unclipped ρ is only book-kept (clipped mass); capped so exp() cannot overflow in SQL or here. */
export const OPE_RHO_CAP = 1e12;

/**
 * The targets the rollups maintain — the same list as learning_ope_changes() in migration 0720.
 * A target outside this set cannot be served from the rollups (the route answers 400).
 */
export const OPE_TARGETS: readonly OpeTarget[] = [
  { name: 'greedy', epsilon: 0 },
  { name: 'logged', epsilon: null },
  { name: 'epsilon=0.05', epsilon: 0.05 },
  { name: 'epsilon=0.1', epsilon: 0.1 },
  { name: 'epsilon=0.2', epsilon: 0.2 },
  { name: 'epsilon=0.5', epsilon: 0.5 },
  { name: 'uniform', epsilon: 1 },
];

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

/** Additive sufficient statistics over decisions d (X_d, W_d, Y_d, n_d as above). */
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
  wn: number;
  y: number;
  y2: number;
  yn: number;
  /** Σ_d Σ_k ρc_{k−1}: the clipped weights the DR model term uses. */
  wp: number;
  /** Σ_d Σ_k ρ_k and Σ_d Σ_k ρ_{k−1}, unclipped (capped at OPE_RHO_CAP): with w and wp, the clipped mass. */
  rho: number;
  rho_prev: number;
  /** Items whose cumulative weight exceeded the clip. */
  clipped: number;
  /** Range of the rewards (unrewarded = 0) and of the model values (q̂, q_greedy, q_mean) seen; null without items. */
  r_min: number | null;
  r_max: number | null;
  q_min: number | null;
  q_max: number | null;
}

const ADDITIVE = [
  'decisions',
  'items',
  'x',
  'x2',
  'xn',
  'n2',
  'w',
  'w2',
  'xw',
  'wn',
  'y',
  'y2',
  'yn',
  'wp',
  'rho',
  'rho_prev',
  'clipped',
] as const;

export const emptySums = (): OpeSums => ({
  ...(Object.fromEntries(ADDITIVE.map((k) => [k, 0])) as Record<(typeof ADDITIVE)[number], number>),
  r_min: null,
  r_max: null,
  q_min: null,
  q_max: null,
});

const lo = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const hi = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * Add one decision's items (any order; sorted by position here). ρ is carried in log space, as the
 * SQL does (exp(Σ ln w)), so the two agree to rounding and neither overflows on long slates.
 */
export function addDecision(s: OpeSums, items: readonly OpeItem[], t: OpeTarget, clip = OPE_CLIP): void {
  if (items.length === 0) return;
  const sorted = items.length > 1 ? [...items].sort((a, b) => a.position - b.position) : items;
  const lnClip = Math.log(clip);
  const lnCap = Math.log(OPE_RHO_CAP);
  let logRho = 0; // ln ρ_{k−1}; ρ_{−1} = 1
  let zero = false; // some factor so far was 0: ρ = 0 from here on
  // Per-decision subtotals, added to the sums once (as W is): with nothing clipped Σρ and Σρc then
  // round identically and the clipped mass is exactly 0.
  let X = 0,
    W = 0,
    Y = 0,
    Wp = 0,
    R = 0,
    Rp = 0;
  for (const it of sorted) {
    const rpc = zero ? 0 : Math.exp(Math.min(logRho, lnClip));
    const rpu = zero ? 0 : Math.exp(Math.min(logRho, lnCap));
    const w = weight(t, it);
    if (w === 0) zero = true;
    else logRho += Math.log(w);
    const rc = zero ? 0 : Math.exp(Math.min(logRho, lnClip));
    const ru = zero ? 0 : Math.exp(Math.min(logRho, lnCap));
    if (!zero && logRho > lnClip) s.clipped++;
    X += rc * it.reward;
    W += rc;
    Y += rpc * directMethod(t, it) + rc * (it.reward - it.q_hat);
    Wp += rpc;
    R += ru;
    Rp += rpu;
    s.r_min = lo(s.r_min, it.reward);
    s.r_max = hi(s.r_max, it.reward);
    s.q_min = lo(s.q_min, Math.min(it.q_hat, it.q_greedy, it.q_mean));
    s.q_max = hi(s.q_max, Math.max(it.q_hat, it.q_greedy, it.q_mean));
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
  s.wn += W * n;
  s.y += Y;
  s.y2 += Y * Y;
  s.yn += Y * n;
  s.wp += Wp;
  s.rho += R;
  s.rho_prev += Rp;
}

export function mergeSums(a: OpeSums, b: OpeSums): OpeSums {
  const out = emptySums();
  for (const k of ADDITIVE) out[k] = a[k] + b[k];
  out.r_min = lo(a.r_min, b.r_min);
  out.r_max = hi(a.r_max, b.r_max);
  out.q_min = lo(a.q_min, b.q_min);
  out.q_max = hi(a.q_max, b.q_max);
  return out;
}
