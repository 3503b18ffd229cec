// Worker entry used only by bench/ratelimit.ts: the real app (every middleware, the real
// RateLimiter Durable Object) plus two bench routes, served twice from ONE worker so both variants
// share process, isolate and machine load:
//   /…          limits on  (the deployed configuration)
//   /__off/…    the same request with RATE_LIMITS=off (the limiter is skipped entirely)
// and /__bench/decisions?object=&n=&concurrency=, which drives one limiter object directly.
import { createApp, RESOURCES } from '../../src/app';
import { benchRoutes } from './baseline';

const app = createApp([...RESOURCES, benchRoutes]);

const offEnvs = new WeakMap<object, Env>();
function offEnv(env: Env): Env {
  let e = offEnvs.get(env);
  if (!e) {
    e = { ...env, RATE_LIMITS: 'off' };
    offEnvs.set(env, e);
  }
  return e;
}

/** n limiter decisions against one object: sequentially, or `concurrency` at a time. */
async function decisions(env: Env, object: string, n: number, concurrency: number): Promise<{ allowed: number }> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`bench:${object}`));
  let allowed = 0;
  for (let done = 0; done < n; done += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - done) }, () =>
      stub.check({ bucket: 'user', limit: 1_000_000_000, windowSec: 60 }),
    );
    for (const d of await Promise.all(batch)) if (d.allowed) allowed++;
  }
  return { allowed };
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/__bench/decisions') {
      const n = Number(url.searchParams.get('n') ?? 1000);
      const concurrency = Number(url.searchParams.get('concurrency') ?? 1);
      return Response.json(await decisions(env, url.searchParams.get('object') ?? 'one', n, concurrency));
    }
    if (url.pathname.startsWith('/__off/')) {
      url.pathname = url.pathname.slice('/__off'.length);
      return app.fetch(new Request(url, request), offEnv(env), ctx);
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

export { RateLimiter } from '../../src/ratelimit/rate-limiter';
