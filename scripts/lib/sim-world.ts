// The simulator's world: candidates with hidden reward rates, a seeded RNG independent of the
// ranker's, and the exact expected reward of any slate. Rewards are Bernoulli(rate) per item with
// no position effect, so a slate's expected reward is the sum of its candidates' rates.
import { hash128, type Rng, sfc32 } from '../../src/ranker';

export interface World {
  ids: string[];
  rate: Map<string, number>;
  /** Expected reward of the best possible slate of length k (the oracle). */
  oracle: number;
  /** Expected reward of a uniformly random slate of length k. */
  uniform: number;
}

export function seeded(seed: string): Rng {
  const [a, b, c, d] = hash128(seed);
  return sfc32(a, b, c, d);
}

/** n candidates; rates skewed so a few are clearly good (0.02 … 0.32). */
export function makeWorld(n: number, k: number, seed: string): World {
  const rng = seeded(`world:${seed}`);
  const ids = Array.from({ length: n }, (_, i) => `item-${String(i).padStart(4, '0')}`);
  const rate = new Map(ids.map((id) => [id, 0.02 + 0.3 * rng() ** 2]));
  const sorted = [...rate.values()].sort((x, y) => y - x);
  const mean = sorted.reduce((s, r) => s + r, 0) / n;
  return { ids, rate, oracle: sorted.slice(0, k).reduce((s, r) => s + r, 0), uniform: k * mean };
}

export const slateValue = (w: World, ids: readonly string[]) => ids.reduce((s, id) => s + w.rate.get(id)!, 0);

/** Deterministic UUID-shaped decision ids (the ranker seeds its RNG with them). */
export function simDecisionId(seed: string, i: number): string {
  const [a, b, c, d] = hash128(`decision:${seed}:${i}`);
  const h = [a, b, c, d].map((x) => x.toString(16).padStart(8, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
