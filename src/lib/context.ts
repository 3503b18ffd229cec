// Per-request plumbing: request id, logger, lazily created DB handle, access log line.
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { createDb, type Db } from '../db/client';
import type { AppEnv } from '../env';
import { createLogger } from '../observability/logger';
import { noopMetrics } from '../observability/metrics';
import { requestIdFrom } from './ids';

/** ctx.waitUntil when there is an execution context (always in workerd; not in app.request()). */
export function waitUntil(c: Context, p: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(p);
  } catch {
    void p;
  }
}

/** Operation name for metrics and logs: the handler's own name, else the matched route template. */
export function operationName(c: Context<AppEnv>): string {
  const named = c.get('operation');
  if (named) return named;
  const template = routePath(c, -1);
  return template && template !== '*' && template !== '/*' ? `${c.req.method} ${template}` : `${c.req.method} (unmatched)`;
}

export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  const requestId = requestIdFrom(c.req.header('x-request-id'));
  const log = createLogger({ request_id: requestId });
  let db: Db | undefined;
  c.set('requestId', requestId);
  c.set('log', log);
  c.set('db', () => (db ??= createDb(c.env, log)));
  c.set('metrics', noopMetrics);
  try {
    await next();
  } finally {
    c.res.headers.set('x-request-id', requestId);
    // Which deployment version answered (gradual deployments serve two at once).
    if (c.env.CF_VERSION_METADATA?.id) c.res.headers.set('x-worker-version', c.env.CF_VERSION_METADATA.id);
    if (db) waitUntil(c, db.end());
    log.info('request', {
      method: c.req.method,
      path: c.req.path,
      operation: operationName(c),
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      user_id: c.get('user')?.id,
    });
  }
};
