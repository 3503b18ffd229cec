// GET /v1/flags: every flag evaluated for the caller (rollout buckets applied).
//
// Anonymous callers are allowed: with no Authorization header the answer is every flag's base
// value (anonymous callers are never in a rollout), so a client can read the abort switch before
// sign-in. A header that is present but invalid is a 401, never a silent downgrade to anonymous:
// a signed-in client with a broken token would otherwise quietly fall out of its canary.
//
// ?details=true adds, per flag, the value with its variant and OpenFeature reason (src/flags/
// details.ts), what the OpenFeature providers of clients/typescript/src/openfeature/ read.
import { z } from '@hono/zod-openapi';
import { evaluateFlags } from '../flags';
import { FLAG_KEYS, type FlagKey, flagDefaults } from '../flags/definitions';
import { FLAG_ERROR_CODES, FLAG_REASONS, type FlagDetail, flagDetail } from '../flags/details';
import { createRouter, defineRoute } from '../platform/route';

export const flagRoutes = createRouter();

const FlagsQuery = z.object({
  details: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: add `details` (value, variant, reason per flag) to the answer', example: 'true' }),
});

const FlagDetailSchema = z
  .object({
    value: z.unknown().openapi({ description: 'The value evaluated for the caller (the same as in `flags`)' }),
    variant: z.string().optional().openapi({
      description: "The value's name: on/off for a flag with `enabled`, the policy version for ranker.policy",
    }),
    reason: z.enum(FLAG_REASONS).openapi({
      description:
        'STATIC: a stored value without rollout. TARGETING_MATCH: a percentage rollout decided (by the ' +
        "caller's bucket; anonymous callers are never in it). DEFAULT: no stored value, the documented " +
        'default. ERROR: the stored value is unusable (see errorCode); value is what the Worker runs with ' +
        '(its last good value, else the default).',
    }),
    errorCode: z
      .enum(FLAG_ERROR_CODES)
      .optional()
      .openapi({
        description:
          'With reason ERROR: PARSE_ERROR (not JSON), TYPE_MISMATCH (fails the flag schema), GENERAL (store ' +
          "unreachable). FLAG_NOT_FOUND is never sent: it is a provider's answer for a key absent here.",
      }),
    errorMessage: z.string().optional(),
  })
  .openapi('FlagEvaluationDetail');

// Generated from the flag registry: every flag with its default, as a fresh STATIC value reads.
const detailsExample = Object.fromEntries(
  FLAG_KEYS.map((k) => [k, flagDetail(k as FlagKey, flagDefaults[k as FlagKey], { source: 'kv', rollout: false })]),
) as Record<string, FlagDetail>;
detailsExample['global.safe_mode'] = { value: { enabled: false }, variant: 'off', reason: 'TARGETING_MATCH' };

const FlagsResponse = z
  .object({
    flags: z.record(z.string(), z.unknown()).openapi({
      description: 'Flag key → value evaluated for the caller (no rollout field: the rollout is already applied)',
      // Generated from the flag registry (src/flags/registry.ts): every flag with its default.
      example: flagDefaults,
    }),
    details: z.record(z.string(), FlagDetailSchema).optional().openapi({
      description: 'Only with ?details=true: flag key → value, variant and OpenFeature reason',
      example: detailsExample,
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
      'header: the base values (anonymous callers are never in a rollout). An invalid token is a 401. ' +
      'With details=true, also why each value was chosen, in OpenFeature terms (reason, variant, errorCode).',
    access: 'optional_user',
    hot: true,
    request: { query: FlagsQuery },
    responses: { 200: { description: 'The evaluated flags', content: { 'application/json': { schema: FlagsResponse } } } },
  },
  async (c) => {
    const { details } = c.req.valid('query');
    const flags = await evaluateFlags(c.var.unit, c.get('user')?.id);
    c.header('cache-control', 'private, no-store');
    return c.json(details === 'true' ? { flags: flags.values, details: flags.details } : { flags: flags.values }, 200);
  },
);
