// Worker entry used only by bench/ratelimit.ts: the real app (every middleware, the real
// RateLimiter Durable Object) plus two bench routes, served twice from ONE worker so both variants
// share process, isolate and machine load:
//   /…          limits on  (the deployed configuration)
//   /__off/…    the same request with RATE_LIMITS=off (the limiter is skipped entirely)
//   /__bench/decisions?mode=rpc|permits|inside&object=&n=&concurrency=   decisions for one subject:
//       rpc      every decision is a call to the object (stub.check)
//       permits  what a request does: the isolate's leased permits (src/ratelimit/permits.ts)
//       inside   n decisions in one call, inside the object: the decision without the RPC
//   /__bench/meter?names=a,b   storage writes each named object made (bench-only metering below)
//   /__bench/object-calls      how many calls the app's requests (limits on) made to limiter objects
//
// The exported RateLimiter is the real class with its storage metered: before the real constructor
// runs, the object's SqlStorage.exec and setAlarm are wrapped to count every statement that wrote
// rows and every alarm set, grouped into write batches (one per event), so the same bench measures
// any version of the class (Miniflare's own bookkeeping statements excluded).
import { createApp, RESOURCES } from '../../src/app';
import { RateLimiter as RealRateLimiter } from '../../src/ratelimit/rate-limiter';
import { benchRoutes } from './baseline';
import { permitDecisions } from './ratelimit-permits';

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

/** Calls the app's requests made to limiter objects (stubs taken), for /__bench/object-calls. */
let objectCalls = 0;
const onEnvs = new WeakMap<object, Env>();
function onEnv(env: Env): Env {
  let e = onEnvs.get(env);
  if (!e) {
    const ns = env.RATE_LIMITER;
    const counting = {
      idFromName: (name: string) => ns.idFromName(name),
      get: (id: DurableObjectId) => {
        objectCalls++;
        return ns.get(id);
      },
    } as unknown as Env['RATE_LIMITER'];
    e = { ...env, RATE_LIMITER: counting };
    onEnvs.set(env, e);
  }
  return e;
}

export interface StorageMeter {
  /** Storage write batches: events that wrote rows or set an alarm (Durable Objects commit each atomically). */
  writes: number;
  /** SQL statements that wrote at least one row, and the rows they wrote (what is billed). */
  statements: number;
  rows: number;
  alarms: number;
  /** Instances constructed (1 = never restarted or evicted during the run). */
  instances: number;
  /** Most write batches in any 1 s. */
  maxPerSecond: number;
}

interface Meter {
  statements: number;
  rows: number;
  alarms: number;
  batches: number[];
  /** Instances constructed for this object (restarts and evictions included). */
  instances: number;
}
/** Per object id, in module memory: survives the object's own restarts and evictions. */
const meters = new Map<string, Meter>();

export class RateLimiter extends RealRateLimiter {
  private readonly meter: Meter;

  constructor(ctx: DurableObjectState, env: Env) {
    const id = ctx.id.toString();
    const meter = meters.get(id) ?? { statements: 0, rows: 0, alarms: 0, batches: [], instances: 0 };
    meters.set(id, meter);
    meter.instances++;
    // Statements of one event are one batch: it stays open until the event's microtasks run.
    let open = false;
    const batch = () => {
      if (open) return;
      open = true;
      meter.batches.push(Date.now());
      queueMicrotask(() => {
        open = false;
      });
    };
    const sql = ctx.storage.sql;
    const exec = sql.exec.bind(sql);
    Object.assign(sql, {
      exec: (query: string, ...bindings: unknown[]) => {
        const cursor = exec(query, ...bindings);
        // Miniflare records each object's name in its own __miniflare_* table when the object is
        // first created: a local artefact (production has no such write), not the class's cost.
        if (cursor.rowsWritten > 0 && !/__miniflare_/.test(query)) {
          meter.statements++;
          meter.rows += cursor.rowsWritten;
          batch();
        }
        return cursor;
      },
    });
    const storage = ctx.storage;
    const setAlarm = storage.setAlarm.bind(storage);
    Object.assign(storage, {
      setAlarm: (at: number | Date, options?: DurableObjectSetAlarmOptions) => {
        meter.alarms++;
        batch();
        return setAlarm(at, options);
      },
    });
    super(ctx, env);
    this.meter = meter;
  }

  /** n decisions inside the object, one call: what the decision itself costs without the RPC. */
  async benchDecide(n: number): Promise<{ allowed: number }> {
    let allowed = 0;
    for (let i = 0; i < n; i++) if ((await this.check({ bucket: 'user', limit: 1_000_000_000, windowSec: 60 })).allowed) allowed++;
    return { allowed };
  }

  benchMeter(): StorageMeter {
    const s = [...this.meter.batches].sort((a, b) => a - b);
    let max = 0;
    for (let lo = 0, hi = 0; hi < s.length; hi++) {
      while (s[hi]! - s[lo]! >= 1_000) lo++;
      max = Math.max(max, hi - lo + 1);
    }
    const { statements, rows, alarms, instances } = this.meter;
    return { writes: s.length, statements, rows, alarms, instances, maxPerSecond: max };
  }
}

/** n decisions against one object, each a call: sequentially, or `concurrency` at a time. */
async function rpcDecisions(env: Env, object: string, n: number, concurrency: number) {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object));
  let allowed = 0;
  for (let done = 0; done < n; done += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - done) }, () =>
      stub.check({ bucket: 'user', limit: 1_000_000_000, windowSec: 60 }),
    );
    for (const d of await Promise.all(batch)) if (d.allowed) allowed++;
  }
  return { allowed, calls: n };
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const q = (k: string, d: string) => url.searchParams.get(k) ?? d;
    if (url.pathname === '/__bench/decisions') {
      const [object, n, concurrency] = [q('object', 'one'), Number(q('n', '500')), Number(q('concurrency', '1'))];
      const mode = q('mode', 'rpc');
      const stub = () => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object)) as unknown as DurableObjectStub<RateLimiter>;
      const result =
        mode === 'permits'
          ? await permitDecisions(env, object, n, concurrency)
          : mode === 'inside'
            ? { ...(await stub().benchDecide(n)), calls: 1 }
            : await rpcDecisions(env, object, n, concurrency);
      return Response.json(result);
    }
    if (url.pathname === '/__bench/meter') {
      const names = q('names', '').split(',').filter(Boolean);
      const meters = await Promise.all(
        names.map((name) =>
          (env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name)) as unknown as DurableObjectStub<RateLimiter>).benchMeter(),
        ),
      );
      return Response.json(meters);
    }
    if (url.pathname === '/__bench/object-calls') return Response.json({ calls: objectCalls });
    if (url.pathname.startsWith('/__off/')) {
      url.pathname = url.pathname.slice('/__off'.length);
      return app.fetch(new Request(url, request), offEnv(env), ctx);
    }
    return app.fetch(request, onEnv(env), ctx);
  },
} satisfies ExportedHandler<Env>;
