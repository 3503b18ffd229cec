// rank(): one decision. Picks the policy from the evaluated flags, builds the candidate set
// (the caller's, or the KV pools), and returns the slate with everything the learning log needs.
// Pure: the caller supplies the decision id, flags and features; nothing here does I/O.
import { epsilonGreedySlate } from './epsilon-greedy';
import { poolCandidates, type RankFeatures, scoreRequestCandidates } from './features';
import { type Rng, rngForDecision } from './rng';
import { safeSlateFromPools, safeSlateFromRequest } from './safe';
import { type Decision, type LoggedItem, type RankCandidate, SAFE_POLICY, type ScoredCandidate } from './types';

export interface RankInput {
  decisionId: string;
  limit: number;
  /** From evaluateFlags(): the policy version and epsilon, and the safe-mode switch. */
  policy: { version: string; epsilon: number };
  safeMode: boolean;
  /** The caller's candidates; when absent the pools in `features` are ranked. */
  candidates?: readonly RankCandidate[];
  features: RankFeatures;
}

export interface Policy {
  slate(cands: readonly ScoredCandidate[], limit: number, epsilon: number, rng: Rng): LoggedItem[];
}

/** Registered policy versions. The `ranker.policy` flag names one of these. */
export const POLICIES: Record<string, Policy> = {
  epsilon_greedy_v1: { slate: epsilonGreedySlate },
};

export const isKnownPolicy = (version: string): boolean => Object.hasOwn(POLICIES, version);

export function rank(input: RankInput): Decision {
  const { decisionId, limit, features } = input;
  const policy = isKnownPolicy(input.policy.version) ? POLICIES[input.policy.version] : undefined;
  if (input.safeMode || !policy) {
    const items = input.candidates ? safeSlateFromRequest(input.candidates, limit, features) : safeSlateFromPools(features, limit);
    return { decision_id: decisionId, policy: SAFE_POLICY, epsilon: 0, fallback: input.safeMode ? 'safe_mode' : 'unknown_policy', items };
  }
  const cands = input.candidates ? scoreRequestCandidates(input.candidates, features) : poolCandidates(features);
  const epsilon = Math.min(1, Math.max(0, input.policy.epsilon));
  const items = policy.slate(cands, limit, epsilon, rngForDecision(decisionId));
  return { decision_id: decisionId, policy: input.policy.version, epsilon, items };
}
