// The TS histogram: bucket boundaries, percentiles within one bucket of the exact value, merging.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addHistograms,
  bucketIndex,
  bucketUpperMs,
  HISTOGRAM_BUCKETS,
  histogramCount,
  quantile,
  record,
  trimHistogram,
} from '../../src/observability/histogram';

describe('bucketIndex / bucketUpperMs', () => {
  it('bucket 0 is < 1 ms; bucket i >= 1 is [2^((i-1)/4), 2^(i/4))', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(0.999)).toBe(0);
    expect(bucketIndex(1)).toBe(1);
    expect(bucketIndex(2)).toBe(5);
    expect(bucketIndex(600)).toBe(37);
    for (let i = 1; i < HISTOGRAM_BUCKETS - 1; i++) {
      expect(bucketIndex(bucketUpperMs(i - 1)), `lower edge of ${i}`).toBe(i);
      expect(bucketIndex(bucketUpperMs(i) * (1 - 1e-12)), `just below the upper edge of ${i}`).toBe(i);
      expect(bucketUpperMs(i) / 2 ** (i / 4)).toBeCloseTo(1, 12);
    }
  });

  it('odd inputs land in bucket 0 or the open last bucket', () => {
    expect(bucketIndex(Number.NaN)).toBe(0);
    expect(bucketIndex(-5)).toBe(0);
    expect(bucketIndex(Number.POSITIVE_INFINITY)).toBe(HISTOGRAM_BUCKETS - 1);
    expect(bucketIndex(1e12)).toBe(HISTOGRAM_BUCKETS - 1);
  });
});

describe('quantile', () => {
  const exactRank = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.max(Math.ceil(q * values.length), 1) - 1]!;

  it('is within the bucket of the exact nearest-rank value, for any sample', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.constantFrom(0.5, 0.9, 0.95, 0.99, 1),
        (values, q) => {
          const hist: number[] = [];
          for (const v of values) record(hist, v);
          const got = quantile(hist, q)!;
          const idx = bucketIndex(exactRank(values, q));
          const lower = idx === 0 ? 0 : bucketUpperMs(idx - 1);
          expect(got).toBeGreaterThanOrEqual(lower);
          expect(got).toBeLessThanOrEqual(bucketUpperMs(idx));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('interpolates inside a bucket and is null for an empty histogram', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([0, 0, 0], 0.5)).toBeNull();
    const h: number[] = [];
    record(h, 520, 100); // 100 observations in bucket 37 = [512, 608.87): the median is mid-bucket
    expect(quantile(h, 0.5)).toBeCloseTo(512 + (bucketUpperMs(37) - 512) * 0.5, 9);
    // 300..540 ms evenly: true p95 is 528 ms. The bucket's upper bound would read 609 ms and trip a
    // "> 600 ms" alert; interpolation stays in the bucket and below the threshold.
    const spread: number[] = [];
    for (let i = 0; i < 200; i++) record(spread, 300 + (240 * i) / 199);
    const p95 = quantile(spread, 0.95)!;
    expect(p95).toBeGreaterThanOrEqual(512);
    expect(p95).toBeLessThan(600);
  });
});

describe('merging', () => {
  it('addHistograms is element-wise and keeps counts', () => {
    expect(addHistograms([1, 2], [0, 1, 5])).toEqual([1, 3, 5]);
    expect(histogramCount(addHistograms([1, 2, 3], []))).toBe(6);
    expect(trimHistogram([0, 1, 0, 0])).toEqual([0, 1]);
  });
});
