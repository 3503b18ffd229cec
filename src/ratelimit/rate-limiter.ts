// RateLimiter Durable Object (SQLite-backed, one object per subject key).
// The binding and class exist from the foundation so the deployment shape is fixed; the limiter
// logic is built in src/ratelimit by the rate-limit work (issue: who may do what).
import { DurableObject } from 'cloudflare:workers';

export class RateLimiter extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    return Response.json({ error: { code: 'not_implemented', message: 'rate limiter not configured', request_id: 'do' } }, { status: 501 });
  }
}
