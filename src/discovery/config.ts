// Discovery's operational knobs. All optional (defaults below), read from the Worker's env (vars or
// secrets) and validated once per env object. Not in wrangler.toml [vars]: the defaults are the
// production values; tests and local experiments override them.
//   DISCOVERY_RETRY_BASE_SECONDS  first retry delay; doubles per attempt        (default 5)
//   DISCOVERY_RETRY_CAP_SECONDS   longest retry delay                            (default 300)
//   DISCOVERY_OUTAGE_WINDOW_SECONDS  how long a database/network outage may last without a
//                                 message dead-lettering over it                  (default 900)
//   DISCOVERY_FAULT_INJECTION     'on' honours a message's test_fault (TEST ONLY; ignored in production)
import { z } from 'zod';
import { invalidKeys } from '../config';
import { createLogger } from '../observability/logger';
import { backoffSeconds } from '../platform/message';

/** Rows leased by the DISCOVERY consumer expire after this (a job takes milliseconds). */
export const CONSUMER_LEASE_SECONDS = 120;
/** Every lock wait inside a job is bounded; a blocked job fails fast and retries with backoff. */
export const JOB_LOCK_TIMEOUT_MS = 1_000;
/** Attempts before a job is dead: wrangler.toml's DISCOVERY max_retries (5) + the first delivery. */
export const MAX_ATTEMPTS = 6;

const seconds = (def: number) =>
  z.preprocess((v) => (v === '' || v === undefined || v === null ? undefined : v), z.coerce.number().int().min(0).max(43_200).default(def));

const Schema = z
  .object({
    APP_ENV: z.string().optional(),
    DISCOVERY_RETRY_BASE_SECONDS: seconds(5),
    DISCOVERY_RETRY_CAP_SECONDS: seconds(300),
    DISCOVERY_OUTAGE_WINDOW_SECONDS: seconds(900),
    DISCOVERY_FAULT_INJECTION: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['on', 'off']).default('off')),
  })
  .refine((c) => !(c.APP_ENV === 'production' && c.DISCOVERY_FAULT_INJECTION === 'on'), {
    path: ['DISCOVERY_FAULT_INJECTION'],
    message: 'fault injection is for tests only and is ignored in production',
  });

export interface DiscoveryConfig {
  retryBaseSeconds: number;
  retryCapSeconds: number;
  outageWindowSeconds: number;
  faultInjection: boolean;
}

const cache = new WeakMap<object, DiscoveryConfig>();

/**
 * The knobs for this env. A bad value must not cost jobs (a throw here would fail every batch until
 * the DLQ): it is logged by key and the defaults apply, with fault injection off.
 */
export function discoveryConfig(env: Env): DiscoveryConfig {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = Schema.safeParse(env);
  if (!parsed.success) {
    createLogger({}).error('config.invalid', { keys: invalidKeys(parsed.error), scope: 'discovery' });
  }
  const c = parsed.success ? parsed.data : Schema.parse({});
  const config = {
    retryBaseSeconds: c.DISCOVERY_RETRY_BASE_SECONDS,
    retryCapSeconds: c.DISCOVERY_RETRY_CAP_SECONDS,
    outageWindowSeconds: c.DISCOVERY_OUTAGE_WINDOW_SECONDS,
    faultInjection: c.DISCOVERY_FAULT_INJECTION === 'on',
  };
  cache.set(env, config);
  return config;
}

/** Delay before the next delivery of a message that failed on its `attempts`-th delivery. */
export function retryDelaySeconds(env: Env, attempts: number): number {
  const c = discoveryConfig(env);
  return backoffSeconds(attempts, c.retryBaseSeconds, c.retryCapSeconds);
}

/** Cloudflare Queues' longest retry delay (12 h). */
const MAX_QUEUE_DELAY_SECONDS = 43_200;

/**
 * Delay before the next delivery of a message whose `attempts`-th delivery could not reach the
 * database (connection refused / timed out / dropped): not the job's fault, so the schedule must
 * outlast an outage rather than spend the attempts in two minutes. The remaining retries
 * (MAX_ATTEMPTS - attempts) are spread geometrically over the outage window: the first waits
 * window / (2^r - 1), and since every later delivery recomputes with one retry fewer, the delays
 * still ahead always add up to at least the window, whatever the attempts already spent on real
 * job failures. Never shorter than the ordinary backoff.
 */
export function outageRetryDelaySeconds(env: Env, attempts: number): number {
  const c = discoveryConfig(env);
  const remaining = Math.max(1, MAX_ATTEMPTS - attempts);
  const spread = Math.ceil(c.outageWindowSeconds / (2 ** remaining - 1));
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(retryDelaySeconds(env, attempts), spread));
}
