// The first middleware of every request: open the request's unit of work (id, logger, lazy
// database handle, waitUntil, metrics collector) on c.var.unit, and when the response is done,
// stamp x-request-id / x-worker-version, end the database handle and write the access log line.
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { isolateMetrics } from '../observability/collector';
import type { AppEnv } from '../platform/app-env';
import { openUnit } from '../platform/unit';
import { requestIdFrom } from '../util/ids';

/** ctx.waitUntil when there is an execution context (always in workerd; not in app.request()). */
export function keepAlive(c: Context): (p: Promise<unknown>) => void {
  return (p) => {
    try {
      c.executionCtx.waitUntil(p);
    } catch {
      void p;
    }
  };
}

/** Operation name for metrics and logs: the handler's own name, else the matched route template. */
export function operationName(c: Context<AppEnv>): string {
  const named = c.get('operation');
  if (named) return named;
  const template = routePath(c, -1);
  return template && template !== '*' && template !== '/*' ? `${c.req.method} ${template}` : `${c.req.method} (unmatched)`;
}

export const requestUnit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  const waitUntil = keepAlive(c);
  const { unit, close } = openUnit(c.env, waitUntil, {
    id: requestIdFrom(c.req.header('x-request-id')),
    metrics: isolateMetrics.collector,
  });
  c.set('unit', unit);
  try {
    await next();
  } finally {
    c.res.headers.set('x-request-id', unit.id);
    // Which deployment version answered (gradual deployments serve two at once).
    if (c.env.CF_VERSION_METADATA?.id) c.res.headers.set('x-worker-version', c.env.CF_VERSION_METADATA.id);
    waitUntil(close());
    unit.log.info('request', {
      method: c.req.method,
      path: c.req.path,
      operation: operationName(c),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      user_id: c.get('user')?.id,
    });
  }
};
