// Request metrics middleware (right after requestUnit in src/app.ts, which puts the isolate's
// collector on c.var.unit.metrics): times the whole request under its operation name (route
// template, or the name a handler set), counts 5xx as failures, and arms the isolate's flush with
// the unit's waitUntil.
// Outside production the measured time is also returned as `Server-Timing: app;dur=<ms>` (exactly
// the value recorded), for debugging and so tests can compare the views with what was measured.
// Every request is also recorded under `version:<version id>` (the deployment version that served
// it): during a gradual deployment the canary gate compares the canary's row with the stable one's.
import type { MiddlewareHandler } from 'hono';
import { getConfig } from '../config';
import { operationName } from '../http/request-unit';
import type { AppEnv } from '../platform/app-env';
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
  try {
    await next();
  } finally {
    const ms = performance.now() - started;
    const { unit } = c.var;
    const failed = c.res.status >= 500;
    unit.metrics.observe(operationName(c), ms, failed);
    unit.metrics.observe(versionOperation(c.env), ms, failed);
    if (exposeTiming(c.env)) c.res.headers.set('server-timing', `app;dur=${ms}`);
    isolateMetrics.schedule(c.env, unit.waitUntil, unit.log);
  }
};
