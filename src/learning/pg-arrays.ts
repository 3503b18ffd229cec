// Postgres array literals built directly ('{…}' text), for batch statements of the form
// INSERT … SELECT FROM unnest($1::uuid[], $2::float8[], …). Postgres parses typed arrays far more
// cheaply than JSON documents (bench/ingest), and building the literal here is cheaper than the
// driver's generic array serialisation. Values must be finite numbers, booleans, strings or null.

const quote = (s: string) => `"${s.replace(/[\\"]/g, '\\$&')}"`;

export function textArray(values: readonly (string | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += (i ? ',' : '') + (v === null || v === undefined ? 'NULL' : quote(v));
  }
  return `${out}}`;
}

export function numberArray(values: readonly (number | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && !Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
    out += (i ? ',' : '') + (v === null || v === undefined ? 'NULL' : String(v));
  }
  return `${out}}`;
}

export function boolArray(values: readonly (boolean | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out += (i ? ',' : '') + (v === null || v === undefined ? 'NULL' : v ? 't' : 'f');
  }
  return `${out}}`;
}
