// Request strings that end up in a Postgres text column: Postgres cannot store U+0000 in text and
// would fail the statement (a 500 for a client's mistake), so such strings are a 400 here.
import { z } from '@hono/zod-openapi';

export const storableText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain U+0000 (NUL)');
