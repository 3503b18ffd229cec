// The Worker's configuration, validated once per env object with zod. Secrets arrive as strings;
// an empty string means "not set". A bad value fails loudly (logged by key, never by value).
import { z } from 'zod';

const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());

export const ConfigSchema = z.object({
  APP_ENV: z.enum(['development', 'staging', 'production']).default('development'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  NEON_WS_PROXY_PORT: optional(z.coerce.number().int().min(1).max(65535)),
  SERVICE_ROLE_KEY: z.string().min(8, 'must be at least 8 characters'),
  SERVICE_ROLE_KEY_NEXT: optional(z.string().min(8)),
  AUTH_JWT_SECRET: optional(z.string().min(8)),
  AUTH_JWKS_URL: optional(z.string().url()),
  AUTH_ISSUER: optional(z.string()),
  AUTH_AUDIENCE: optional(z.string()),
  ALERT_WEBHOOK_URL: optional(z.string().url()),
  // Observability (src/observability): how long an isolate aggregates request metrics before it
  // ships them (ms; 0 = at the end of every request), and the test-only fault injection key
  // (honoured only when APP_ENV is development). Both optional; absent in deployments.
  METRICS_FLUSH_MS: optional(z.coerce.number().int().min(0).max(25_000)),
  LEARNING_FLUSH_MS: optional(z.coerce.number().int().min(0).max(25_000)),
  FAULT_INJECTION_KEY: optional(z.string().min(16)),
});
export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly keys: string[]) {
    super(`invalid configuration: ${keys.join(', ')}`);
  }
}

const cache = new WeakMap<object, Config>();

/** Parsed config for this env; throws ConfigError naming the bad keys. */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError([...new Set(parsed.error.issues.map((i) => i.path.join('.')))]);
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
