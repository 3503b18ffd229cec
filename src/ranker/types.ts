// The ranker's data model. Pure data: what a decision needs in, what it logs out.

/** A candidate as the caller sends it. `score` is the caller's prior estimate of its reward. */
export interface RankCandidate {
  id: string;
  score?: number;
  features?: Record<string, number>;
}

/** Learned reward statistics of one candidate on one surface (from the rollups, via KV). */
export interface CandidateStats {
  impressions: number;
  rewardSum: number;
}

/** A candidate with the exploit score the policy orders by (its estimated reward). */
export interface ScoredCandidate {
  id: string;
  score: number;
}

/** One served slate item, as the API returns it. */
export interface SlateItem {
  candidate_id: string;
  position: number;
  /** Exploit score (estimated reward) of this candidate when it was chosen. */
  score: number;
  /** True when the exploration branch picked this slot (a uniform draw among the remaining). */
  explored: boolean;
  /** Exact probability that the policy put this candidate at this position, given the remaining set. */
  p_exp: number;
}

/**
 * What off-policy evaluation needs beyond the slate item; logged with every learning event.
 * Absent for deterministic (safe-mode) slates, where no propensity exists.
 */
export interface PropensityLog {
  /** Size of the remaining candidate set at this position (|R|). */
  n_remaining: number;
  /** The chosen candidate was the best remaining one (the greedy policy's choice here). */
  is_greedy: boolean;
  /** Probability of the whole logged prefix, positions 0..this one (product of p_exp). */
  p_prefix: number;
  /** Every position up to and including this one was the greedy choice. */
  greedy_prefix: boolean;
  /** Exploit score of the best remaining candidate (the reward model's value of the greedy action). */
  q_greedy: number;
  /** Mean exploit score over the remaining set (the reward model's value of a uniform action). */
  q_mean: number;
}

export interface LoggedItem extends SlateItem {
  ope?: PropensityLog;
}

export type FallbackReason = 'safe_mode' | 'unknown_policy';

export interface Decision {
  decision_id: string;
  /** The policy that produced the slate: a registered version, or SAFE_POLICY. */
  policy: string;
  epsilon: number;
  /** Why the deterministic safe slate was served instead of the configured policy. */
  fallback?: FallbackReason;
  items: LoggedItem[];
}

/** Name logged for deterministic safe-mode slates (also used when the policy flag is unknown). */
export const SAFE_POLICY = 'safe_mode';
