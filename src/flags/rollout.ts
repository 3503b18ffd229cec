// Sticky percentage buckets for rollouts (the canary by flag, guide §5).
//
// bucket(flag key, user id) is a stable hash into 0–99 and a user is "in" a rollout of p percent
// when bucket < p. So raising 5 → 25 → 100 keeps every user who was already in (monotone), the
// same user lands in the same bucket in every isolate, location and deployment (stable), and
// different flags bucket independently (the key is part of the hash), so the users of one canary
// are not always the users of the next.
//
// The hash is 32-bit FNV-1a followed by the murmur3 finaliser (for avalanche: FNV alone leaves
// similar ids in similar buckets). It is synchronous and allocation-free, because it runs on the
// request path for every flag that carries a rollout. Changing it would reshuffle every running
// canary: test/unit/flags-rollout.test.ts pins known values.
import type { FlagKey, FlagValues, ParsedFlag } from './definitions';

export function bucket(flagKey: string, userId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < flagKey.length; i++) h = Math.imul(h ^ flagKey.charCodeAt(i), 0x01000193);
  h = Math.imul(h, 0x01000193); // a zero separator: ("ab","c") and ("a","bc") hash apart
  for (let i = 0; i < userId.length; i++) {
    let c = userId.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32; // UUIDs: their case must not move a user to another bucket
    h = Math.imul(h ^ c, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 100;
}

export const inRollout = (percent: number, b: number): boolean => b < percent;

/** The value a caller sees: the rollout's value when the caller is in it, else the base value. */
export function evaluateFlag<K extends FlagKey>(key: K, flag: ParsedFlag<K>, userId: string | undefined): FlagValues[K] {
  const r = flag.rollout;
  if (!r || userId === undefined) return flag.base;
  if (r.percent >= 100) return r.value;
  if (r.percent <= 0) return flag.base;
  return inRollout(r.percent, bucket(key, userId)) ? r.value : flag.base;
}
