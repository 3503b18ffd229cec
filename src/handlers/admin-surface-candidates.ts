// Candidates registered per surface (service key). `npm run candidates` calls exactly these routes.
//   GET  /admin/surfaces/{surface}/candidates              registered ids, by id, paginated
//   POST /admin/surfaces/{surface}/candidates              register ids (ledgered)
//   POST /admin/surfaces/{surface}/candidates/unregister   unregister ids (ledgered)
// Catalog ids (marketplace_candidates) are known on every surface without registration.
import { z } from '@hono/zod-openapi';
import { serviceActor } from '../auth/actor';
import { storableText } from '../http/text';
import { listSurfaceCandidates, registerCandidates, unregisterCandidates } from '../learning/surface-candidates';
import { createRouter, defineRoute } from '../platform/route';

const MAX_IDS = 1_000;

const SurfaceParam = z.object({
  surface: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - (1-64)')
    .openapi({ example: 'feed', description: 'The surface (the `surface` of POST /v1/rank)' }),
});

const Ids = z.object({
  candidate_ids: z
    .array(storableText(128))
    .min(1)
    .max(MAX_IDS)
    .openapi({ example: ['post_abc'], description: `Candidate ids as clients send them to POST /v1/rank (at most ${MAX_IDS})` }),
  reason: storableText(500).optional(),
});

const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export const adminSurfaceCandidateRoutes = createRouter();

defineRoute(
  adminSurfaceCandidateRoutes,
  {
    method: 'get',
    path: '/admin/surfaces/{surface}/candidates',
    tags: ['learning'],
    access: 'service',
    summary: 'Candidates registered for a surface',
    request: {
      params: SurfaceParam,
      query: z.object({
        after: storableText(128).optional().openapi({ description: 'Continue after this id (the previous page’s `next`)' }),
        limit: z.coerce.number().int().min(1).max(MAX_IDS).default(100),
      }),
    },
    responses: {
      200: json(
        z.object({
          surface: z.string(),
          candidates: z.array(z.object({ candidate_id: z.string(), registered_at: z.string(), registered_by: z.string().nullable() })),
          next: z.string().nullable().openapi({ description: 'Pass as `after` for the next page; null on the last page' }),
        }),
        'One page, by candidate id',
      ),
    },
  },
  async (c) => {
    const { surface } = c.req.valid('param');
    const { after, limit } = c.req.valid('query');
    const candidates = await listSurfaceCandidates(c.var.unit.db(), surface, { after, limit });
    const next = candidates.length === limit ? candidates[candidates.length - 1]!.candidate_id : null;
    return c.json({ surface, candidates, next }, 200);
  },
);

defineRoute(
  adminSurfaceCandidateRoutes,
  {
    method: 'post',
    path: '/admin/surfaces/{surface}/candidates',
    tags: ['learning'],
    access: 'service',
    summary: 'Register candidates for a surface: their impressions and rewards enter the shared statistics',
    description:
      'Only known candidates (catalog ids, and ids registered here for the surface) enter learning_candidate_stats and ' +
      "the surface's popular/recent pools, which every user's slate reads; any other id a client ranks is served and " +
      'logged but moves nothing another user sees. Counting starts at the next learning rollup (*/5); events rolled up ' +
      'before registration are not counted retroactively. Ledgered as surface_candidates.register.',
    request: { params: SurfaceParam, body: { required: true, content: { 'application/json': { schema: Ids } } } },
    responses: {
      200: json(
        z.object({ surface: z.string(), registered: z.array(z.string()), already: z.array(z.string()) }),
        'Newly registered ids, and those that were registered already',
      ),
    },
  },
  async (c) => {
    const { surface } = c.req.valid('param');
    const { candidate_ids, reason } = c.req.valid('json');
    const result = await registerCandidates(c.var.unit.db(), surface, candidate_ids, {
      actor: serviceActor(c),
      reason,
      requestId: c.var.unit.id,
    });
    c.var.unit.log.info('surface_candidates.registered', { surface, registered: result.registered.length, already: result.already.length });
    return c.json(result, 200);
  },
);

defineRoute(
  adminSurfaceCandidateRoutes,
  {
    method: 'post',
    path: '/admin/surfaces/{surface}/candidates/unregister',
    tags: ['learning'],
    access: 'service',
    summary: 'Unregister candidates of a surface',
    description:
      "They leave the surface's pools and learned scores at the next hydrate-features (*/5); their statistics are kept " +
      'and count again if they are registered again. Ledgered as surface_candidates.unregister.',
    request: { params: SurfaceParam, body: { required: true, content: { 'application/json': { schema: Ids } } } },
    responses: {
      200: json(
        z.object({ surface: z.string(), unregistered: z.array(z.string()), absent: z.array(z.string()) }),
        'Unregistered ids, and those that were not registered',
      ),
    },
  },
  async (c) => {
    const { surface } = c.req.valid('param');
    const { candidate_ids, reason } = c.req.valid('json');
    const result = await unregisterCandidates(c.var.unit.db(), surface, candidate_ids, {
      actor: serviceActor(c),
      reason,
      requestId: c.var.unit.id,
    });
    c.var.unit.log.info('surface_candidates.unregistered', { surface, unregistered: result.unregistered.length });
    return c.json(result, 200);
  },
);
