// bench/worker/ratelimit.ts: decisions through the isolate's leased permits — exactly what a
// request's rate-limit step does (src/ratelimit/permits.ts), with the object calls counted.
import { takePermit } from '../../src/ratelimit/permits';

/** n decisions for one subject with `concurrency` in flight; `calls` = calls that reached the object. */
export async function permitDecisions(env: Env, subject: string, n: number, concurrency: number) {
  let calls = 0;
  const ns = {
    idFromName: (name: string) => env.RATE_LIMITER.idFromName(name),
    get: (id: DurableObjectId) => {
      calls++;
      return env.RATE_LIMITER.get(id);
    },
  } as unknown as Env['RATE_LIMITER'];
  const limit = { max: 1_000_000_000, windowSec: 60 };
  let allowed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const out = await takePermit({ ns, subject, cls: 'user', limit, timeoutMs: 10_000 });
        if (out.kind === 'decided' && out.decision.allowed) allowed++;
      }
    }),
  );
  return { allowed, calls };
}
