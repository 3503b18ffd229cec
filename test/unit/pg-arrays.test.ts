// Array literals must round-trip through Postgres' parser for any string (quotes, backslashes,
// braces, commas, unicode, the word NULL) — checked against the parser's rules here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boolArray, numberArray, textArray } from '../../src/learning/pg-arrays';

/** A reference parser for one-dimensional Postgres array literals (quoted elements, NULL). */
function parse(literal: string): (string | null)[] {
  expect(literal.startsWith('{') && literal.endsWith('}')).toBe(true);
  const body = literal.slice(1, -1);
  if (body === '') return [];
  const out: (string | null)[] = [];
  let i = 0;
  while (i <= body.length) {
    if (body[i] === '"') {
      let s = '';
      i++;
      while (body[i] !== '"') {
        if (body[i] === '\\') i++;
        s += body[i++];
      }
      out.push(s);
      i += 2;
    } else {
      const end = body.indexOf(',', i) === -1 ? body.length : body.indexOf(',', i);
      const raw = body.slice(i, end);
      out.push(raw === 'NULL' ? null : raw);
      i = end + 1;
    }
  }
  return out;
}

describe('pg array literals', () => {
  it('text arrays round-trip any string and null', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ unit: 'grapheme' }), { nil: null })), (xs) => {
        expect(parse(textArray(xs))).toEqual(xs);
      }),
    );
    expect(textArray(['NULL', null, 'a"b\\c', '{x,y}'])).toBe('{"NULL",NULL,"a\\"b\\\\c","{x,y}"}');
  });

  it('numbers keep full precision; non-finite numbers are refused', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null })), (xs) => {
        expect(parse(numberArray(xs)).map((v) => (v === null ? null : Number(v)))).toEqual(xs.map((x) => (Object.is(x, -0) ? 0 : x)));
      }),
    );
    expect(() => numberArray([Number.NaN])).toThrow(RangeError);
  });

  it('booleans', () => {
    expect(boolArray([true, false, null, undefined])).toBe('{t,f,NULL,NULL}');
  });
});
