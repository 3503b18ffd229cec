// GET /health (alias /functions/v1/health): is each dependency usable right now?
// 200 when all checks pass, 503 naming the failing ones. Every check is time-bounded so a dead
// database answers 503 promptly instead of hanging the Worker.
import { z } from '@hono/zod-openapi';
import { getConfig } from '../config';
import { pingDatabase } from '../db/sql';
import { evaluateFlags } from '../flags';
import { errorFields } from '../observability/logger';
import { createRouter, defineRoute } from '../platform/route';
import { withTimeout } from '../util/time';
import { runningVersion } from '../version';

const CHECK_TIMEOUT_MS = 3_000;

const Check = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
const HealthSchema = z
  .object({
    status: z.enum(['ok', 'error']),
    checks: z.object({ config: Check, db: Check, kv: Check, queues: Check, flags: Check }),
    failing: z.array(z.string()),
    safe_mode: z.boolean().nullable(),
    version: z.object({ app: z.string(), id: z.string().optional(), tag: z.string().optional() }),
  })
  .openapi('Health');

type CheckResult = z.infer<typeof Check>;

async function check(fn: () => Promise<unknown>, label: string): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(fn(), CHECK_TIMEOUT_MS, label);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    const message = err instanceof Error && err.message.includes('timed out') ? 'timeout' : 'unavailable';
    return { ok: false, ms: Math.round(performance.now() - started), error: message };
  }
}

export const healthRoutes = createRouter();

for (const path of ['/health', '/functions/v1/health'] as const) {
  defineRoute(
    healthRoutes,
    {
      method: 'get',
      path,
      access: 'public',
      tags: ['health'],
      summary: path === '/health' ? 'Liveness and dependency health' : 'Alias of GET /health (guide §1C)',
      responses: {
        200: { description: 'All checks pass', content: { 'application/json': { schema: HealthSchema } } },
        503: { description: 'At least one check failed', content: { 'application/json': { schema: HealthSchema } } },
      },
    },
    async (c) => {
      const { unit } = c.var;
      const log = unit.log;
      let safeMode: boolean | null = null;
      const config = await check(async () => getConfig(c.env), 'config');
      const [db, kv, flags] = config.ok
        ? await Promise.all([
            check(() => pingDatabase(unit.db()), 'db'),
            check(() => c.env.FLAGS.get('global.safe_mode'), 'kv'),
            check(async () => {
              safeMode = (await evaluateFlags(unit)).safeMode;
            }, 'flags'),
          ])
        : [config, config, config];
      const queues = await check(async () => {
        if (typeof c.env.EVENTS?.send !== 'function' || typeof c.env.DISCOVERY?.send !== 'function') {
          throw new Error('queue bindings missing');
        }
      }, 'queues');
      const checks = { config, db, kv, queues, flags };
      const failing = Object.entries(checks)
        .filter(([, r]) => !r.ok)
        .map(([k]) => k);
      if (failing.length > 0) log.warn('health.failing', { failing, ...errorFields(failing.join(',')) });
      const body = {
        status: failing.length === 0 ? ('ok' as const) : ('error' as const),
        checks,
        failing,
        safe_mode: safeMode,
        version: runningVersion(c.env),
      };
      return failing.length === 0 ? c.json(body, 200) : c.json(body, 503);
    },
  );
}
