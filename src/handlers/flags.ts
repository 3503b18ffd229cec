// GET /v1/flags: every flag evaluated for the caller (rollout buckets applied).
//
// Anonymous callers are allowed: with no Authorization header the answer is every flag's base
// value (anonymous callers are never in a rollout), so a client can read the abort switch before
// sign-in. A header that is present but invalid is a 401, never a silent downgrade to anonymous:
// a signed-in client with a broken token would otherwise quietly fall out of its canary.
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { evaluateFlags } from '../flags';
import { requireUser } from '../lib/auth';
import { createRouter, errorResponses, userSecurity } from '../lib/openapi';

/** requireUser when the caller sent credentials; anonymous otherwise. */
const optionalUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header('authorization') === undefined) return next();
  return requireUser(c, next);
};

export const flagRoutes = createRouter();

const FlagsResponse = z
  .object({
    flags: z.record(z.string(), z.unknown()).openapi({
      description: 'Flag key → value evaluated for the caller (no rollout field: the rollout is already applied)',
      example: {
        'global.safe_mode': { enabled: false },
        'ranker.policy': { version: 'epsilon_greedy_v1', epsilon: 0.08 },
        'marketplace.suggest': { enabled: true },
        'learning.enabled': { enabled: true },
        'crush_mode.enabled': { enabled: false },
      },
    }),
  })
  .openapi('EvaluatedFlags');

flagRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/flags',
    tags: ['flags'],
    summary: 'Flags evaluated for the caller',
    description: 'With a user JWT: values with the caller\'s rollout buckets applied. Without an Authorization ' +
      'header: the base values (anonymous callers are never in a rollout). An invalid token is a 401.',
    security: [{}, ...userSecurity],
    middleware: [optionalUser] as const,
    responses: { 200: { description: 'The evaluated flags', content: { 'application/json': { schema: FlagsResponse } } }, ...errorResponses },
  }),
  async (c) => {
    const flags = await evaluateFlags({ env: c.env, db: c.get('db'), log: c.get('log'), userId: c.get('user')?.id });
    c.header('cache-control', 'private, no-store');
    return c.json({ flags: flags.values }, 200);
  },
);
