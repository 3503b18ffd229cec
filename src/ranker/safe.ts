// The safe-mode slate (guide §3): no exploration, no learned ordering, no propensities.
// Deterministic: the same request and features give the same slate whatever the decision id.
//  - caller's candidates: ordered by the caller's own score (else the catalog prior), ties by id;
//  - no candidates: popular, recent and global pools interleaved round-robin, duplicates skipped.
import { better } from './epsilon-greedy';
import { exploitScore, priorOf, type RankFeatures } from './features';
import type { LoggedItem, RankCandidate, ScoredCandidate } from './types';

function item(c: ScoredCandidate, position: number): LoggedItem {
  return { candidate_id: c.id, position, score: c.score, explored: false, p_exp: 0 };
}

export function safeSlateFromRequest(cands: readonly RankCandidate[], limit: number, f: RankFeatures): LoggedItem[] {
  const scored = cands.map((c) => ({ id: c.id, score: c.score ?? priorOf(c.id, f) }));
  scored.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
  return scored.slice(0, Math.max(0, limit)).map(item);
}

export function safeSlateFromPools(f: RankFeatures, limit: number): LoggedItem[] {
  const pools = [f.surface?.popular ?? [], [...(f.surface?.recent ?? []), ...(f.global?.recent ?? [])], f.global?.global ?? []];
  const seen = new Set<string>();
  const out: LoggedItem[] = [];
  const cursor = pools.map(() => 0);
  while (out.length < limit) {
    let progressed = false;
    for (let p = 0; p < pools.length && out.length < limit; p++) {
      const pool = pools[p]!;
      while (cursor[p]! < pool.length && seen.has(pool[cursor[p]!]!)) cursor[p]!++;
      if (cursor[p]! >= pool.length) continue;
      const id = pool[cursor[p]!++]!;
      seen.add(id);
      progressed = true;
      out.push(item({ id, score: exploitScore(f.surface?.stats.get(id), priorOf(id, f)) }, out.length));
    }
    if (!progressed) break;
  }
  return out;
}
