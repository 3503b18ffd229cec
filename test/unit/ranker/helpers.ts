// Shared fixtures for the ranker's unit tests: deterministic decision ids and candidate sets.
import type { ScoredCandidate } from '../../../src/ranker';

/** A UUID-shaped id derived from a counter (tests stay deterministic). */
export function decisionId(i: number, salt = 0): string {
  const hex = (i * 2654435761 + salt * 40503).toString(16).padStart(12, '0').slice(-12);
  return `00000000-0000-4000-8000-${hex}`;
}

export function candidates(n: number, scoreOf: (i: number) => number = (i) => (n - i) / n): ScoredCandidate[] {
  return Array.from({ length: n }, (_, i) => ({ id: `c${String(i).padStart(5, '0')}`, score: scoreOf(i) }));
}
