// THE flag registry: adding a client flag is one entry here (docs/ARCHITECTURE.md "Adding a flag").
// Everything else follows from it:
//   - its zod schema and fail-safe default (definitions.ts: parsing, rollouts, GET /v1/flags);
//   - the seed row of feature_flags (flagSeedSql(): `npm run db:seed`, the test template);
//   - the example of GET /v1/flags in the OpenAPI document (src/handlers/flags.ts);
//   - the flag table of docs/RUNBOOK.md §1B, checked against this file by
//     test/integration/flag-registry.test.ts (it prints the row to paste when one is missing).
// A flag the code reads by name (safe mode, the policy…) is also given a field in toEvaluated()
// (src/flags/index.ts); one the Worker only passes through to clients needs nothing more.
// `ops.pause_jobs` is not a client flag (src/ops/pause.ts) and is not listed.
import { z } from 'zod';

export interface FlagDefinition<S extends z.ZodType = z.ZodType> {
  /** What a stored value must look like (base fields; a rollout is allowed on any flag). */
  schema: S;
  /** The seeded value and the built-in default when neither KV nor Postgres has a valid one. */
  default: z.output<S>;
  /** One line: what the flag does (feature_flags.description). */
  description: string;
  /** Who decides about it: the team or role to ask before changing it. */
  owner: string;
  /**
   * The OpenFeature variant name of a value (GET /v1/flags?details=true). Without it a flag with
   * a boolean `enabled` is 'on' or 'off', any other has no variant.
   */
  variant?: (value: z.output<S>) => string;
}

const defineFlag = <S extends z.ZodType>(d: FlagDefinition<S>): FlagDefinition<S> => d;

const enabled = z.object({ enabled: z.boolean() }).passthrough();

export const FLAGS = {
  'global.safe_mode': defineFlag({
    schema: enabled,
    default: { enabled: false },
    description: 'Abort switch: no exploration, deterministic fallback slates, p_exp = 0',
    owner: 'on-call',
  }),
  'ranker.policy': defineFlag({
    schema: z.object({ version: z.string().min(1), epsilon: z.number().min(0).max(1) }).passthrough(),
    default: { version: 'epsilon_greedy_v1', epsilon: 0.08 },
    description: 'Ranking policy version and exploration rate',
    owner: 'ranking',
    variant: (v) => v.version,
  }),
  'marketplace.suggest': defineFlag({
    schema: enabled,
    default: { enabled: true },
    description: 'Marketplace suggestions on/off',
    owner: 'discovery',
  }),
  'learning.enabled': defineFlag({
    schema: enabled,
    default: { enabled: true },
    description: 'Learning-event logging on/off',
    owner: 'learning',
  }),
  'crush_mode.enabled': defineFlag({
    schema: enabled,
    default: { enabled: false },
    description: 'Client feature, passed through to evaluated flags',
    owner: 'client apps',
  }),
} as const;

export type FlagKey = keyof typeof FLAGS;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * The seed of public.feature_flags: every registered flag with its default and description.
 * ON CONFLICT DO NOTHING: a re-run never overwrites a value an operator has changed since.
 */
export function flagSeedSql(): string {
  const rows = Object.entries(FLAGS).map(
    ([key, f]) => `  (${literal(key)}, ${literal(JSON.stringify(f.default))}::jsonb, ${literal(f.description)}, 'seed')`,
  );
  return `INSERT INTO public.feature_flags (key, value, description, updated_by) VALUES\n${rows.join(',\n')}\nON CONFLICT (key) DO NOTHING;\n`;
}
