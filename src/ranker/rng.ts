// Seeded randomness for ranking decisions. The generator is seeded only by the decision id, so a
// decision can be replayed bit for bit (same id + same inputs → same slate, same propensities),
// in Node and in workerd alike: only 32-bit integer arithmetic (Math.imul, >>> 0), no platform RNG.

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * cyrb128: a fast 128-bit string hash (public domain). Spreads every character of the id over
 * four 32-bit words so ids that differ in one hex digit give unrelated streams.
 */
export function hash128(s: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** sfc32 (Small Fast Counter, PractRand-clean), returning doubles in [0, 1) with 32 random bits. */
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** The generator of one decision. Burns a few outputs so weak seeds are mixed before use. */
export function rngForDecision(decisionId: string): Rng {
  const [a, b, c, d] = hash128(decisionId.toLowerCase());
  const rng = sfc32(a, b, c, d);
  for (let i = 0; i < 12; i++) rng();
  return rng;
}
