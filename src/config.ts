// The Worker's configuration, validated once per env object with zod. Secrets arrive as strings;
// an empty string means "not set". A bad value fails loudly (logged by key, never by value).
import { z } from 'zod';

const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());

export const ConfigSchema = z.object({
  APP_ENV: z.enum(['development', 'staging', 'production']).default('development'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  NEON_WS_PROXY_PORT: optional(z.coerce.number().int().min(1).max(65535)),
  SERVICE_ROLE_KEY: z.string().min(8, 'must be at least 8 characters'),
  SERVICE_ROLE_KEY_NEXT: optional(z.string().min(8)),
  AUTH_JWT_SECRET: optional(z.string().min(8)),
  /** Second accepted HS256 secret while the identity provider rotates (see RUNBOOK "Rotating secrets"). */
  AUTH_JWT_SECRET_NEXT: optional(z.string().min(8)),
  AUTH_JWKS_URL: optional(z.string().url()),
  AUTH_ISSUER: optional(z.string()),
  AUTH_AUDIENCE: optional(z.string()),
  ALERT_WEBHOOK_URL: optional(z.string().url()),
  /**
   * Signs every alert webhook (Standard Webhooks: webhook-id/-timestamp/-signature). `whsec_` + the
   * base64 of 24–64 random bytes. _NEXT, while rotating: each delivery then carries both signatures.
   */
  ALERT_WEBHOOK_SECRET: optional(webhookSecret()),
  ALERT_WEBHOOK_SECRET_NEXT: optional(webhookSecret()),
  /** Browser origins allowed by CORS: comma-separated exact origins (https://app.example.com). */
  CORS_ORIGINS: optional(z.string().refine((v) => parseOrigins(v) !== undefined, 'must be comma-separated http(s) origins')),
  /** Rate limiting: 'on' (default) or 'off' (emergency switch; also the benchmark's baseline). */
  RATE_LIMITS: optional(z.enum(['on', 'off'])),
  // Observability (src/observability): how long an isolate aggregates request metrics before it
  // ships them (ms; 0 = at the end of every request), and the test-only fault injection key
  // (honoured only when APP_ENV is development). Both optional; absent in deployments.
  METRICS_FLUSH_MS: optional(z.coerce.number().int().min(0).max(25_000)),
  LEARNING_FLUSH_MS: optional(z.coerce.number().int().min(0).max(25_000)),
  FAULT_INJECTION_KEY: optional(z.string().min(16)),
  /**
   * Queue batches give up on a query with no answer after this long (ms, default 30 000) and take
   * the outage path: a partitioned database keeps the socket open and would otherwise hold the
   * batch until the platform kills it at its wall-time limit, costing every message an attempt.
   */
  QUEUE_QUERY_TIMEOUT_MS: optional(z.coerce.number().int().min(100).max(600_000)),
});
export type Config = z.infer<typeof ConfigSchema>;

/** `whsec_<base64>` whose key is 24–64 bytes (the Standard Webhooks range). */
function webhookSecret() {
  return z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_<base64>')
    .refine((v) => {
      const b64 = v.slice('whsec_'.length);
      const bytes = b64.length % 4 === 0 ? (b64.length / 4) * 3 - (b64.match(/=+$/)?.[0].length ?? 0) : 0;
      return bytes >= 24 && bytes <= 64;
    }, 'must encode 24 to 64 bytes');
}

/**
 * CORS_ORIGINS → exact origins, or undefined when malformed. Only scheme://host[:port]; no
 * wildcards, paths or '*': a JWT-carrying API should not be callable from any page on the web.
 */
export function parseOrigins(raw: string | undefined): string[] | undefined {
  const parts = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    let url: URL;
    try {
      url = new URL(p);
    } catch {
      return undefined;
    }
    if (!/^https?:$/.test(url.protocol) || url.origin !== p.replace(/\/$/, '')) return undefined;
    out.push(url.origin);
  }
  return out;
}

export class ConfigError extends Error {
  constructor(readonly keys: string[]) {
    super(`invalid configuration: ${keys.join(', ')}`);
  }
}

/** The distinct env keys a failed parse names, for a log line or an error message. */
export function invalidKeys(error: z.ZodError): string[] {
  return [...new Set(error.issues.map((i) => i.path.join('.')))];
}

const cache = new WeakMap<object, Config>();

/** Parsed config for this env; throws ConfigError naming the bad keys. */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(invalidKeys(parsed.error));
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
