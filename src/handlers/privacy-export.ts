// Export of everything held about a user (the access / portability request), as one streamed JSON
// document with the large parts paged: GET /v1/me/export (the caller) and GET /admin/users/{id}/export
// (the service role). The document is assembled in src/privacy/export.ts.
import { z } from '@hono/zod-openapi';
import type { Context, TypedResponse } from 'hono';
import type { JSONParsed } from 'hono/utils/types';
import type { AppEnv } from '../platform/app-env';
import { createRouter, defineRoute } from '../platform/route';
import { EXPORT_FORMAT, EXPORT_PAGE, exportStream } from '../privacy/export';
import { PAGED_PART_NAMES } from '../privacy/queries-export';

const row = z.record(z.string(), z.unknown());
const Page = z.object({
  items: z.array(row),
  next_cursor: z.string().nullable().openapi({ description: 'Pass as ?cursor= for the next page of this part; null at the end' }),
});

const UserExport = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    user_id: z.guid(),
    generated_at: z.string(),
    user: row.nullable().openapi({ description: 'auth.users: id, email, created_at, last_seen_at, claims' }),
    erasure: row.nullable().openapi({ description: "The user's erasure, when they were erased (id, requested_at, completed_at)" }),
    interests: z.array(row),
    suggestions: z.array(row).openapi({ description: 'What GET /v1/me/suggestions derives from the interests (at most 50)' }),
    limit_overrides: z.array(row),
    signals: Page,
    learning_events: Page.openapi({ description: 'Served slate items, with the logged context and reward' }),
    rewards: Page,
    discovery_jobs: Page,
    complete: z.literal(true).openapi({ description: 'Last member: a document without it was cut short; fetch it again' }),
  })
  .openapi('UserExport');

const UserExportPage = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    user_id: z.guid(),
    generated_at: z.string(),
    part: z.enum(PAGED_PART_NAMES),
    items: z.array(row),
    next_cursor: z.string().nullable(),
    complete: z.literal(true),
  })
  .openapi('UserExportPage');

const Query = z.object({
  part: z.enum(PAGED_PART_NAMES).optional().openapi({ description: 'Only this large part, from its start' }),
  cursor: z.string().max(1000).optional().openapi({ description: 'next_cursor of a previous page (it names its part)' }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(EXPORT_PAGE.max)
    .default(EXPORT_PAGE.default)
    .openapi({ description: 'Rows per large part on this page' }),
});

const DESCRIPTION =
  'Everything held about the user, as one JSON document streamed from one consistent snapshot: the user row, ' +
  'interests, suggestions, limit overrides, and the first page of each large part (signals, learning events, rewards, ' +
  'discovery jobs) with a cursor for the next. `?cursor=` returns the next page of one part; `?part=` starts a part. ' +
  'Every page ends with `"complete": true`. After an erasure the document is empty (and names the erasure).';

const responses = {
  200: {
    description: 'The document (no part/cursor) or one page of a part',
    content: { 'application/json': { schema: z.union([UserExport, UserExportPage]) } },
  },
};

type Streamed = TypedResponse<JSONParsed<z.output<typeof UserExport> | z.output<typeof UserExportPage>>, 200, 'json'>;

async function streamed(c: Context<AppEnv>, userId: string, q: z.infer<typeof Query>): Promise<Streamed> {
  const body = await exportStream(c.var.unit, { userId: userId.toLowerCase(), part: q.part, cursor: q.cursor, limit: q.limit });
  const res = c.body(body, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  // Streamed, so Hono cannot type it as JSON: the body is the documented schema, written piece by
  // piece in src/privacy/export.ts (test/worker/privacy-export.test.ts parses it).
  return res as unknown as Streamed;
}

export const privacyExportRoutes = createRouter();

defineRoute(
  privacyExportRoutes,
  {
    method: 'get',
    path: '/v1/me/export',
    access: 'user',
    tags: ['privacy'],
    summary: 'Export everything held about the caller',
    description: DESCRIPTION,
    request: { query: Query },
    responses,
  },
  (c) => streamed(c, c.get('user')!.id, c.req.valid('query')),
);

defineRoute(
  privacyExportRoutes,
  {
    method: 'get',
    path: '/admin/users/{id}/export',
    access: 'service',
    tags: ['privacy'],
    summary: 'Export everything held about a user (operators, on a data-subject request)',
    description: DESCRIPTION,
    request: { params: z.object({ id: z.guid() }), query: Query },
    responses,
  },
  (c) => streamed(c, c.req.valid('param').id, c.req.valid('query')),
);
