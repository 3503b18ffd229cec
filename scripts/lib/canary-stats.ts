// The canary gate's statistics (pure, no I/O): the canary compared WITH THE STABLE VERSION, on two
// proportions each — 5xx responses, and "slow" requests (slower than the stable version's p95
// bucket, so the latency check is the same two-proportion comparison on the same threshold) —
// with error rates that hold however often the gate looks:
//
//   harm (every look): exact one-sided test of H0 "canary rate ≤ stable rate" (conditional
//     binomial: the canary's share of both versions' events). The level of
//     each look is alpha / maxLooks (Bonferroni over the planned looks of the whole rollout), so
//     the probability that a canary as good as stable is ever rolled back for harm is ≤ alpha,
//     whatever the number of looks up to maxLooks.  → NO-GO
//   evidence (the last look of a step): the canary must have served minRequests, and the upper
//     (1 - beta) confidence bound of (canary − stable) must be below the margin (non-inferiority;
//     Agresti–Caffo adjusted, so zero errors is not "zero variance"). A canary whose rate is
//     stable + margin or worse is promoted past one step with probability ≤ beta.  → GO, else NO-GO
//   otherwise: WAIT (keep watching; the split is never left without a decision at the step's end).
//
// No data is never GO: too few canary requests at the last look is NO-GO. test/unit/
// canary-gate-sim.test.ts runs thousands of simulated canaries through decide() to check the rates.

export interface Proportion {
  /** Events (5xx responses, slow requests) out of `n` requests. */
  x: number;
  n: number;
}

export interface GatePolicy {
  /** Bound on rolling back a canary as good as stable, over all looks (default 0.05). */
  alpha: number;
  /** Bound on promoting, per step, a canary worse than stable by the margin (default 0.05). */
  beta: number;
  /** Looks planned for the whole rollout (steps × looks per step): the Bonferroni divisor. */
  maxLooks: number;
  /** Canary requests needed before a step may be promoted (default 500). */
  minRequests: number;
  /** How much higher the canary's 5xx rate may be than stable's (default 0.02: 2 points). */
  errorMargin: number;
  /** How much higher the canary's share of slow requests may be than stable's (default 0.1). */
  slowMargin: number;
}

export const DEFAULT_POLICY: GatePolicy = {
  alpha: 0.05,
  beta: 0.05,
  maxLooks: 120, // deploy:auto's defaults: 2 gated steps (5 %, 25 %) × 60 looks (1 h at 1 min)
  minRequests: 500,
  errorMargin: 0.02,
  slowMargin: 0.1,
};

export type Verdict = 'go' | 'wait' | 'no-go';

export interface Comparison {
  name: string;
  verdict: Verdict;
  detail: string;
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 via erf; absolute error < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The z with P(Z > z) = p (bisection on normalCdf; plenty for levels down to 1e-9). */
export function upperQuantile(p: number): number {
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (1 - normalCdf(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9): relative error ~1e-15 for z > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const x = z - 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (Numerical Recipes' betacf). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-12) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaCf(a, b, x)) / a : 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** P(X ≥ k) for X ~ Binomial(n, q). */
export function binomialUpperTail(k: number, n: number, q: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  return incompleteBeta(q, k, n - k + 1);
}

/**
 * Exact one-sided p-value of "canary rate > stable rate": given the x events of both versions,
 * under H0 (equal rates) the canary's share is Binomial(x, n_c / (n_c + n_s)) — the conditional
 * test, valid for the handful of errors of a young canary where a z-test is not.
 */
export function harmP(c: Proportion, s: Proportion): number {
  if (c.n === 0 || s.n === 0 || c.x === 0) return 1;
  return binomialUpperTail(c.x, c.x + s.x, c.n / (c.n + s.n));
}

/** Upper (1 - beta) bound of (canary rate − stable rate), Agresti–Caffo (+1 event, +1 non-event each). */
export function excessUpperBound(c: Proportion, s: Proportion, beta: number): number {
  const pc = (c.x + 1) / (c.n + 2);
  const ps = (s.x + 1) / (s.n + 2);
  return pc - ps + upperQuantile(beta) * Math.sqrt((pc * (1 - pc)) / (c.n + 2) + (ps * (1 - ps)) / (s.n + 2));
}

/** One proportion compared at one look. `last`: the step's last look (GO or NO-GO, never WAIT). */
export function compare(name: string, c: Proportion, s: Proportion, margin: number, policy: GatePolicy, last: boolean): Comparison {
  const rates = `canary ${pct(c.n ? c.x / c.n : 0)} of ${c.n} vs stable ${pct(s.n ? s.x / s.n : 0)} of ${s.n}`;
  const level = policy.alpha / policy.maxLooks;
  const p = harmP(c, s);
  if (p <= level)
    return { name, verdict: 'no-go', detail: `${rates}: worse than stable (p ${p.toExponential(2)} ≤ ${level.toExponential(2)})` };
  if (c.n < policy.minRequests) {
    return {
      name,
      verdict: last ? 'no-go' : 'wait',
      detail: `${rates}: not enough evidence (${c.n} of ${policy.minRequests} canary requests)`,
    };
  }
  const bound = excessUpperBound(c, s, policy.beta);
  if (bound < margin) return { name, verdict: 'go', detail: `${rates}: excess ≤ ${pct(Math.max(0, bound))} < margin ${pct(margin)}` };
  return {
    name,
    verdict: last ? 'no-go' : 'wait',
    detail: `${rates}: excess could be ${pct(bound)} (margin ${pct(margin)}); not shown no worse`,
  };
}

export interface VersionCounts {
  requests: number;
  errors: number;
  /** Requests slower than the stable version's p95 bucket (counted for both versions alike). */
  slow: number;
}

/** The canary-vs-stable checks of one look: 5xx and latency. */
export function compareVersions(canary: VersionCounts, stable: VersionCounts, policy: GatePolicy, last: boolean): Comparison[] {
  return [
    compare(
      'canary 5xx vs stable',
      { x: canary.errors, n: canary.requests },
      { x: stable.errors, n: stable.requests },
      policy.errorMargin,
      policy,
      last,
    ),
    compare(
      'canary latency vs stable (share slower than stable p95)',
      { x: canary.slow, n: canary.requests },
      { x: stable.slow, n: stable.requests },
      policy.slowMargin,
      policy,
      last,
    ),
  ];
}

/** The verdict of a look: any NO-GO wins, then WAIT; GO only when every comparison says GO. */
export function combine(verdicts: Verdict[]): Verdict {
  if (verdicts.length === 0) return 'no-go'; // nothing compared: no evidence
  if (verdicts.includes('no-go')) return 'no-go';
  return verdicts.includes('wait') ? 'wait' : 'go';
}
