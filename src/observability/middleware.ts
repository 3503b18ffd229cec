// Request metrics middleware (right after requestContext in src/app.ts): installs the isolate's
// collector in c.var.metrics, times the whole request under its operation name (route template, or
// the name a handler set), counts 5xx as failures, and arms the isolate's flush with waitUntil.
// Outside production the measured time is also returned as `Server-Timing: app;dur=<ms>` (exactly
// the value recorded), for debugging and so tests can compare the views with what was measured.
// Every request is also recorded under `version:<version id>` (the deployment version that served
// it): during a gradual deployment the canary gate compares the canary's row with the stable one's.
import type { MiddlewareHandler } from 'hono';
import { getConfig } from '../config';
import type { AppEnv } from '../env';
import { operationName, waitUntil } from '../lib/context';
import { versionOperation } from '../version';
import { isolateMetrics } from './collector';

function exposeTiming(env: Env): boolean {
  try {
    return getConfig(env).APP_ENV !== 'production';
  } catch {
    return false;
  }
}

export const requestMetrics: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  c.set('metrics', isolateMetrics.collector);
  try {
    await next();
  } finally {
    const ms = performance.now() - started;
    isolateMetrics.collector.observe(operationName(c), ms, c.res.status >= 500);
    isolateMetrics.collector.observe(versionOperation(c.env), ms, c.res.status >= 500);
    if (exposeTiming(c.env)) c.res.headers.set('server-timing', `app;dur=${ms}`);
    isolateMetrics.schedule(c.env, (p) => waitUntil(c, p), c.get('log'));
  }
};
