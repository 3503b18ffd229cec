// Request metrics middleware (right after requestContext in src/app.ts): installs the isolate's
// collector in c.var.metrics, times the whole request under its operation name (route template, or
// the name a handler set), counts 5xx as failures, and arms the isolate's flush with waitUntil.
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { operationName, waitUntil } from '../lib/context';
import { isolateMetrics } from './collector';

export const requestMetrics: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  c.set('metrics', isolateMetrics.collector);
  try {
    await next();
  } finally {
    isolateMetrics.collector.observe(operationName(c), performance.now() - started, c.res.status >= 500);
    isolateMetrics.schedule(c.env, (p) => waitUntil(c, p), c.get('log'));
  }
};
