// The strict-body rule (src/lib/strict-body.ts): default objects reject unknown keys at every
// depth; explicit opt-ins (loose objects, records, catchall) and intersections are left alone.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { strictify } from '../../src/http/strict-body';

const codes = (r: { success: boolean; error?: z.ZodError }) => (r.success ? [] : r.error!.issues.map((i) => i.code));

describe('strictify', () => {
  it('rejects unknown keys at the top, in nested objects, arrays, optionals and unions', () => {
    const schema = strictify(
      z.object({
        a: z.number(),
        nested: z.object({ b: z.string() }).optional(),
        list: z.array(z.object({ id: z.string() })).default([]),
        either: z.union([z.object({ kind: z.literal('x'), x: z.number() }), z.object({ kind: z.literal('y') })]).optional(),
      }),
    );
    expect(schema.safeParse({ a: 1 }).success).toBe(true);
    expect(codes(schema.safeParse({ a: 1, extra: true }))).toEqual(['unrecognized_keys']);
    expect(codes(schema.safeParse({ a: 1, nested: { b: 'x', c: 1 } }))).toEqual(['unrecognized_keys']);
    expect(codes(schema.safeParse({ a: 1, list: [{ id: 'x', role: 'admin' }] }))).toEqual(['unrecognized_keys']);
    expect(schema.safeParse({ a: 1, either: { kind: 'x', x: 1, sneaky: 1 } }).success).toBe(false);
    expect(schema.safeParse({ a: 1, either: { kind: 'y' } }).success).toBe(true);
  });

  it('keeps transforms working and checks their input side', () => {
    const schema = strictify(z.object({ n: z.string() }).transform((v) => Number(v.n)));
    expect(schema.parse({ n: '4' })).toBe(4);
    expect(schema.safeParse({ n: '4', m: 1 }).success).toBe(false);
  });

  it('leaves explicit opt-ins alone: loose objects, records, catchall, intersections', () => {
    const schema = strictify(
      z.object({
        loose: z.looseObject({ a: z.number() }),
        record: z.record(z.string(), z.number()),
        caught: z.object({}).catchall(z.string()),
        both: z.intersection(z.object({ a: z.number() }), z.object({ b: z.number() })),
      }),
    );
    const value = { loose: { a: 1, extra: 'kept' }, record: { any: 1 }, caught: { k: 'v' }, both: { a: 1, b: 2 } };
    expect(schema.parse(value)).toEqual(value);
  });

  it('returns the very same schema when nothing needs to change', () => {
    const already = z.strictObject({ a: z.number() });
    expect(strictify(already)).toBe(already);
    const scalar = z.string();
    expect(strictify(scalar)).toBe(scalar);
  });

  it('does not modify the schema it was given', () => {
    const original = z.object({ a: z.number() });
    strictify(original);
    expect(original.safeParse({ a: 1, b: 2 }).success).toBe(true);
  });
});
