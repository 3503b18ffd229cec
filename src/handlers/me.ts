// The caller's own discovery data: interests (affinity 0–1 per catalog interest), intent signals,
// and marketplace suggestions. Every query runs in withUserTransaction, so Postgres RLS limits it
// to the caller's rows. Replacing interests is atomic per user: a per-user lock first, then the
// replacement, the 100-interest cap, and the discovery work it implies — jobs (and their outbox
// row) for the interests added or changed, the queued jobs of removed ones cancelled — all in one
// transaction, so either everything happens or nothing; a deadlock or serialization failure runs
// the whole transaction again.
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { retryOnConflict } from '../db/retry';
import type { Db } from '../db/sql';
import { type UserClaims, withUserTransaction } from '../db/user-transaction';
import {
  cancelDiscoveryFor,
  catalogInterestIds,
  countInterests,
  enqueueDiscoveryFor,
  hasInterests,
  insertSignals,
  listInterests,
  lockCallerInterests,
  replaceInterests,
  suggestionsFor,
} from '../discovery/me-queries';
import { evaluateFlags } from '../flags';
import { ApiError, badRequest } from '../http/errors';
import { errorDoc } from '../http/openapi';
import { rootCause } from '../observability/logger';
import type { AppEnv } from '../platform/app-env';
import { createRouter, defineRoute } from '../platform/route';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_INTERESTS = 100;
const MAX_SIGNALS = 50;
const MAX_CONTEXT_BYTES = 2048;

const UserInterest = z
  .object({
    interest_id: z.guid(),
    name: z.string(),
    affinity: z.number(),
    updated_at: z.string(),
  })
  .openapi('UserInterest');

const InterestsResponse = z
  .object({
    interests: z.array(UserInterest),
    discovery: z.object({ queued: z.number().int().openapi({ description: 'discovery jobs queued by this write' }) }).optional(),
  })
  .openapi('UserInterests');

const PutInterestsBody = z
  .object({
    interests: z.array(z.object({ interest_id: z.guid(), affinity: z.number().min(0).max(1) }).strict()).max(MAX_INTERESTS),
  })
  .strict()
  .openapi('PutInterests', {
    example: { interests: [{ interest_id: '11111111-1111-1111-1111-111111111111', affinity: 0.9 }] },
  });

const SignalsBody = z
  .object({
    signals: z
      .array(
        z
          .object({
            kind: z
              .string()
              // Both cases spelled out, no /i flag: a JSON Schema pattern has no flags, and the
              // OpenAPI document would carry the flag as part of the pattern (matching nothing).
              .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - only')
              .max(64),
            interest_id: z.guid().optional(),
            strength: z.number().min(0).max(1).default(1),
            context: z
              .record(z.string(), z.unknown())
              .refine((v) => JSON.stringify(v).length <= MAX_CONTEXT_BYTES, `at most ${MAX_CONTEXT_BYTES} bytes of JSON`)
              .optional(),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_SIGNALS),
  })
  .strict()
  .openapi('IntentSignals', {
    example: { signals: [{ kind: 'view', interest_id: '22222222-2222-2222-2222-222222222222', strength: 0.5 }] },
  });

const Suggestion = z
  .object({
    candidate_id: z.guid(),
    title: z.string(),
    url: z.string().nullable(),
    category_id: z.guid(),
    category_name: z.string(),
    interest_id: z.guid(),
    interest_name: z.string(),
    affinity: z.number(),
    candidate_score: z.number(),
    score: z.number(),
  })
  .openapi('Suggestion');

const SuggestionsResponse = z
  .object({
    suggestions: z.array(Suggestion),
    reason: z.enum(['suggestions_disabled', 'no_interests', 'no_candidates']).optional().openapi({
      description:
        'Why the list is empty: the marketplace.suggest flag is off, the caller has no interests, or their categories have no active candidates',
    }),
  })
  .openapi('Suggestions');

const json = <T extends z.ZodTypeAny>(schema: T) => ({ content: { 'application/json': { schema } } });
const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({ required: true, ...json(schema) });

const claimsOf = (c: Context<AppEnv>): UserClaims => {
  const user = c.get('user')!;
  return { ...user.claims, sub: user.id, role: 'authenticated' };
};

/** 400 naming the first entry whose interest is not in the catalog. */
async function assertCatalogInterests(tx: Db, ids: (string | undefined)[], field: (i: number) => string): Promise<void> {
  const wanted = [...new Set(ids.filter((x): x is string => !!x).map((x) => x.toLowerCase()))];
  if (wanted.length === 0) return;
  const known = await catalogInterestIds(tx, wanted);
  const bad = ids.findIndex((x) => x && !known.has(x.toLowerCase()));
  if (bad >= 0)
    throw badRequest(`${field(bad)}: unknown interest`, {
      issues: [{ path: field(bad), message: 'unknown interest', code: 'unknown_interest' }],
    });
}

/** The user row must exist (auth.users) before user-owned rows can reference it. */
function mapUserMissing(err: unknown): never {
  const pg = rootCause(err) as { code?: string; constraint?: string } | null;
  if (pg?.code === '23503' && /user_id_fkey$/.test(pg.constraint ?? '')) {
    throw new ApiError(409, 'user_not_provisioned', 'the calling user is not known to the database yet');
  }
  throw err;
}

const NOT_PROVISIONED = errorDoc('The caller is not provisioned in auth.users');

export const meRoutes = createRouter();

defineRoute(
  meRoutes,
  {
    method: 'get',
    path: '/v1/me/interests',
    access: 'user',
    tags: ['me'],
    summary: "The caller's interests with their affinities",
    responses: { 200: { description: 'Interests, strongest first', ...json(InterestsResponse) } },
  },
  async (c) => {
    const interests = await withUserTransaction(c.var.unit.db(), claimsOf(c), listInterests);
    return c.json({ interests }, 200);
  },
);

defineRoute(
  meRoutes,
  {
    method: 'put',
    path: '/v1/me/interests',
    access: 'user',
    maxBodyBytes: MAX_BODY_BYTES,
    tags: ['me'],
    summary: "Replace the caller's interests and queue discovery for them",
    description:
      `The list replaces the caller's interests (at most ${MAX_INTERESTS}; affinity 0–1; catalog interests only). ` +
      "Concurrent replacements by the same caller are serialised: the stored set is always exactly one request's list. " +
      'In the same transaction, one discovery job is queued per interest added or whose affinity changed (unless it already ' +
      'has a live job), and the queued jobs of removed interests are cancelled.',
    request: { body: jsonBody(PutInterestsBody) },
    responses: {
      200: { description: 'The interests now stored, and how many discovery jobs were queued', ...json(InterestsResponse) },
      409: errorDoc(
        `The caller is not provisioned in auth.users (user_not_provisioned), or would hold more than ${MAX_INTERESTS} interests (too_many_interests)`,
      ),
    },
  },
  async (c) => {
    const { interests } = c.req.valid('json');
    const { unit } = c.var;
    const seen = new Set<string>();
    interests.forEach((x, i) => {
      const id = x.interest_id.toLowerCase();
      if (seen.has(id)) throw badRequest(`interests.${i}.interest_id: listed twice`);
      seen.add(id);
    });
    const wanted = interests.map((x) => ({ interest_id: x.interest_id.toLowerCase(), affinity: x.affinity }));
    const replace = () =>
      withUserTransaction(unit.db(), claimsOf(c), async (tx) => {
        await lockCallerInterests(tx);
        await assertCatalogInterests(
          tx,
          interests.map((x) => x.interest_id),
          (i) => `interests.${i}.interest_id`,
        );
        const changes = await replaceInterests(tx, wanted);
        // The body's own limit cannot see rows written around this route (SQL, another client of
        // the same table); the cap holds for what is stored once this transaction commits.
        const total = await countInterests(tx);
        if (total > MAX_INTERESTS)
          throw new ApiError(409, 'too_many_interests', `the caller would hold ${total} interests; at most ${MAX_INTERESTS}`);
        const cancelled = await cancelDiscoveryFor(tx, changes.removed);
        const queued = await enqueueDiscoveryFor(tx, changes.changed);
        return { interests: await listInterests(tx), discovery: { queued }, cancelled };
      });
    const { cancelled, ...result } = await retryOnConflict(replace, {
      onRetry: ({ attempt, code }) => unit.log.warn('me.interests_retry', { attempt, code }),
    }).catch(mapUserMissing);
    unit.log.info('me.interests_set', { count: interests.length, queued: result.discovery.queued, cancelled });
    return c.json(result, 200);
  },
);

defineRoute(
  meRoutes,
  {
    method: 'post',
    path: '/v1/me/signals',
    access: 'user',
    maxBodyBytes: MAX_BODY_BYTES,
    tags: ['me'],
    summary: 'Record intent signals (views, saves, searches…) of the caller',
    request: { body: jsonBody(SignalsBody) },
    responses: {
      201: { description: 'Signals stored', ...json(z.object({ accepted: z.number().int() })) },
      409: NOT_PROVISIONED,
    },
  },
  async (c) => {
    const { signals } = c.req.valid('json');
    const accepted = await withUserTransaction(c.var.unit.db(), claimsOf(c), async (tx) => {
      await assertCatalogInterests(
        tx,
        signals.map((s) => s.interest_id),
        (i) => `signals.${i}.interest_id`,
      );
      return insertSignals(tx, signals);
    }).catch(mapUserMissing);
    return c.json({ accepted }, 201);
  },
);

defineRoute(
  meRoutes,
  {
    method: 'get',
    path: '/v1/me/suggestions',
    access: 'user',
    tags: ['me'],
    summary: 'Marketplace suggestions for the caller (marketplace_suggestions_for_user)',
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(50).default(12).openapi({ example: 12 }) }) },
    responses: { 200: { description: 'Suggestions, best first; empty with a reason when there are none', ...json(SuggestionsResponse) } },
  },
  async (c) => {
    const { limit } = c.req.valid('query');
    const user = c.get('user')!;
    const { unit } = c.var;
    const flags = await evaluateFlags(unit, user.id);
    if (!flags.suggest) return c.json({ suggestions: [], reason: 'suggestions_disabled' as const }, 200);
    const out = await withUserTransaction(unit.db(), claimsOf(c), async (tx) => {
      const suggestions = await suggestionsFor(tx, limit);
      if (suggestions.length > 0) return { suggestions };
      return { suggestions, reason: (await hasInterests(tx)) ? ('no_candidates' as const) : ('no_interests' as const) };
    });
    return c.json(out, 200);
  },
);
