// Log-scale latency histograms: the TypeScript twin of the SQL functions histogram_bucket_upper_ms,
// histogram_bucket_index, histogram_quantile and histogram_add (as redefined in migration 0500).
// test/integration/histogram-twin.test.ts checks both sides give identical answers.
//
// Buckets: 0 holds < 1 ms; bucket i >= 1 holds [upper(i-1), upper(i)) with upper(i) = 2^(i/4) ms,
// i.e. four buckets per doubling (each ~19 % wide); the last bucket is open-ended.
// upper(i) is computed as 2^floor(i/4) × F[i mod 4]: multiplying by a power of two is exact and the
// four factors are the same IEEE doubles in both languages, so Postgres and V8 agree to the bit
// (pow(2, i/4) itself differs by one ulp between glibc and V8 for most i).

/** Number of buckets (indices 0..HISTOGRAM_BUCKETS-1); upper(95) ≈ 3.9 h. Same constant in SQL. */
export const HISTOGRAM_BUCKETS = 96;

// Literal constants, bit-identical to the SQL twin's (migrations/0500): computing 2 ** 0.25 here
// would leave the value to the bundler's constant folding, which may round differently.
// biome-ignore lint/suspicious/noApproximativeNumericConstant: SQRT2 is spelled out to match the SQL literal
const QUARTER_FACTORS = [1, 1.189207115002721, 1.4142135623730951, 1.6817928305074292] as const;

/** Exclusive upper bound (ms) of bucket i; for the quantile of a bucket we report this bound. */
export function bucketUpperMs(index: number): number {
  return 2 ** Math.floor(index / 4) * QUARTER_FACTORS[index % 4]!;
}

/** Bucket of one latency observation (ms). NaN and negatives count as < 1 ms. */
export function bucketIndex(ms: number): number {
  if (!(ms >= 1)) return 0;
  const last = HISTOGRAM_BUCKETS - 1;
  let i = Math.min(Math.max(Math.floor(4 * Math.log2(ms)) + 1, 1), last);
  // log2 is only an estimate; the boundaries decide, exactly as in SQL.
  while (i > 1 && ms < bucketUpperMs(i - 1)) i--;
  while (i < last && ms >= bucketUpperMs(i)) i++;
  return i;
}

export type Histogram = number[];

/** Add one observation to a dense histogram (grows the array as needed). */
export function record(hist: Histogram, ms: number, count = 1): void {
  const i = bucketIndex(ms);
  while (hist.length <= i) hist.push(0);
  hist[i]! += count;
}

/** Element-wise sum (histogram_add). */
export function addHistograms(a: readonly number[], b: readonly number[]): Histogram {
  const out: Histogram = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) out.push((a[i] ?? 0) + (b[i] ?? 0));
  return out;
}

export function histogramCount(hist: readonly number[]): number {
  let n = 0;
  for (const c of hist) n += c;
  return n;
}

/**
 * The q-quantile (0..1), histogram_quantile's twin: the bucket holding the nearest-rank observation,
 * interpolated linearly inside it. The exact value lies in the same bucket, so the answer is within
 * one bucket (~19 %) of it. null for an empty histogram. Same double arithmetic, same order, as SQL.
 */
export function quantile(hist: readonly number[], q: number): number | null {
  const total = histogramCount(hist);
  if (hist.length === 0 || total === 0) return null;
  const rank = Math.max(Math.ceil(q * total), 1);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    const c = hist[i] ?? 0;
    if (c > 0 && seen + c >= rank) {
      const lower = i === 0 ? 0 : bucketUpperMs(i - 1);
      if (i >= HISTOGRAM_BUCKETS - 1) return lower; // the open last bucket has no upper bound
      const upper = bucketUpperMs(i);
      return lower + (upper - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return bucketUpperMs(hist.length - 1);
}

/** Drop trailing zero buckets: messages and rows stay as short as the slowest observation needs. */
export function trimHistogram(hist: readonly number[]): Histogram {
  let end = hist.length;
  while (end > 0 && !hist[end - 1]) end--;
  return hist.slice(0, end);
}
