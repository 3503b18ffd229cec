// Callers without an identity (no user token, no service key: public routes, 404s, failed logins,
// the dashboard before its own check) are limited per client address by Cloudflare's native
// rate-limiting binding ANON_RATE_LIMITER, not by a Durable Object: a client rotating addresses
// creates no objects and no storage, only counters the binding keeps per Cloudflare location.
//
// What that binding is: a fixed window of `period` seconds (10 or 60), counted per location and
// approximately (Cloudflare's own rate-limiting infrastructure), configured in wrangler.toml and
// not at run time — ANON_LIMIT (limiter-api.ts) must equal its `simple` block (a unit test checks
// every environment). It answers only allowed / refused, so anonymous responses carry
// RateLimit-Limit and RateLimit-Policy but no Remaining or Reset (nothing exact to say), and a
// refusal says Retry-After: <period> (the latest the window can end).
//
// If the binding throws or does not answer in ANON_TIMEOUT_MS, the per-isolate fallback decides
// (fallback.ts), counted in the 'ratelimit.fallback' metric like every fallback decision.
import { withTimeout } from '../util/time';

export { ANON_BINDING, ANON_LIMIT } from './limiter-api';

const ANON_TIMEOUT_MS = 1_000;

/** The binding's key: the route class and the client address (IPv4, or the IPv6 /64). */
export const anonymousKey = (cls: string, ip: string): string => `${cls}:${ip}`;

/** true = within the limit; throws when the binding failed or timed out. */
export async function anonymousAllowed(binding: RateLimit, key: string): Promise<boolean> {
  const outcome = await withTimeout(binding.limit({ key }), ANON_TIMEOUT_MS, 'anonymous rate limit');
  return outcome.success;
}
