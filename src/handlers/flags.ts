// GET /v1/flags: every flag evaluated for the caller (rollout buckets applied).
//
// Anonymous callers are allowed: with no Authorization header the answer is every flag's base
// value (anonymous callers are never in a rollout), so a client can read the abort switch before
// sign-in. A header that is present but invalid is a 401, never a silent downgrade to anonymous:
// a signed-in client with a broken token would otherwise quietly fall out of its canary.
import { z } from '@hono/zod-openapi';
import { evaluateFlags } from '../flags';
import { flagDefaults } from '../flags/definitions';
import { createRouter, defineRoute } from '../platform/route';

export const flagRoutes = createRouter();

const FlagsResponse = z
  .object({
    flags: z.record(z.string(), z.unknown()).openapi({
      description: 'Flag key → value evaluated for the caller (no rollout field: the rollout is already applied)',
      // Generated from the flag registry (src/flags/registry.ts): every flag with its default.
      example: flagDefaults,
    }),
  })
  .openapi('EvaluatedFlags');

defineRoute(
  flagRoutes,
  {
    method: 'get',
    path: '/v1/flags',
    tags: ['flags'],
    summary: 'Flags evaluated for the caller',
    description:
      "With a user JWT: values with the caller's rollout buckets applied. Without an Authorization " +
      'header: the base values (anonymous callers are never in a rollout). An invalid token is a 401.',
    access: 'optional_user',
    hot: true,
    responses: { 200: { description: 'The evaluated flags', content: { 'application/json': { schema: FlagsResponse } } } },
  },
  async (c) => {
    const flags = await evaluateFlags(c.var.unit, c.get('user')?.id);
    c.header('cache-control', 'private, no-store');
    return c.json({ flags: flags.values }, 200);
  },
);
