// The SQL histogram functions and their TypeScript twin (src/observability/histogram.ts) give the
// same answers, bit for bit: bucket bounds, bucket of a value, quantiles, sums.
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHistograms, bucketIndex, bucketUpperMs, HISTOGRAM_BUCKETS, quantile } from '../../src/observability/histogram';
import { connect } from '../support/pg';

let db: pg.Client;
beforeAll(async () => {
  db = await connect();
});
afterAll(async () => {
  await db.end();
});

/** The neighbours of x in IEEE doubles: the values where two implementations would disagree. */
function neighbours(x: number): number[] {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const at = (b: bigint) => {
    buf.setBigUint64(0, b);
    return buf.getFloat64(0);
  };
  return [at(bits - 1n), x, at(bits + 1n)];
}

describe('histogram twin: SQL ≡ TypeScript', () => {
  it('histogram_bucket_upper_ms(i) equals bucketUpperMs(i) exactly, for every bucket', async () => {
    const { rows } = await db.query('SELECT i, public.histogram_bucket_upper_ms(i) AS v FROM generate_series(0, $1::int) i ORDER BY i', [
      HISTOGRAM_BUCKETS,
    ]);
    for (const r of rows) expect(r.v, `bucket ${r.i}`).toBe(bucketUpperMs(r.i));
  });

  it('histogram_bucket_index(ms) equals bucketIndex(ms) on every boundary, its neighbours and random values', async () => {
    const values = [0, 0.5, 1, Number.NaN, -3, 1e15];
    for (let i = 0; i <= HISTOGRAM_BUCKETS; i++) values.push(...neighbours(bucketUpperMs(i)));
    values.push(...fc.sample(fc.double({ min: 0, max: 1e7, noNaN: true }), 2000));
    const { rows } = await db.query(
      'SELECT ord, public.histogram_bucket_index(v) AS i FROM unnest($1::float8[]) WITH ORDINALITY AS u(v, ord) ORDER BY ord',
      [values.map((v) => (Number.isNaN(v) ? 'NaN' : v))],
    );
    const mismatches = rows.filter((r) => r.i !== bucketIndex(values[Number(r.ord) - 1]!)).map((r) => values[Number(r.ord) - 1]);
    expect(mismatches).toEqual([]);
  });

  it('histogram_quantile equals quantile for random histograms and quantiles', async () => {
    const cases = fc.sample(
      fc.record({
        hist: fc.array(fc.nat({ max: 1000 }), { minLength: 0, maxLength: HISTOGRAM_BUCKETS }),
        q: fc.constantFrom(0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1),
      }),
      400,
    );
    const { rows } = await db.query(
      `SELECT ord, public.histogram_quantile(ARRAY(SELECT jsonb_array_elements_text(c -> 'hist')::bigint), (c ->> 'q')::float8) AS v
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS u(c, ord) ORDER BY ord`,
      [JSON.stringify(cases)],
    );
    for (const r of rows) {
      const c = cases[Number(r.ord) - 1]!;
      expect(r.v, JSON.stringify(c)).toBe(quantile(c.hist, c.q));
    }
  });

  it('histogram_add / histogram_sum equal addHistograms', async () => {
    const hists = fc.sample(fc.array(fc.nat({ max: 50 }), { maxLength: 40 }), 30);
    const {
      rows: [r],
    } = await db.query(
      `SELECT public.histogram_sum(ARRAY(SELECT jsonb_array_elements_text(h)::bigint)) AS total
       FROM jsonb_array_elements($1::jsonb) AS u(h)`,
      [JSON.stringify(hists)],
    );
    const expected = hists.reduce((a, b) => addHistograms(a, b), [] as number[]);
    expect((r.total as string[]).map(Number)).toEqual(expected);
  });
});
