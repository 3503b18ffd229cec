// Logs: one JSON line per request and per cron job with request id, operation, status, duration
// (and user id when known), never a token or key. The fault injection hook is off outside
// development, without the key, or with a wrong key.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { Hono, type MiddlewareHandler } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authenticateUser } from '../../src/auth/authenticate';
import { requestUnit } from '../../src/http/request-unit';
import worker from '../../src/index';
import { isolateMetrics } from '../../src/observability/collector';
import { requestedFault } from '../../src/observability/fault-injection';
import { createLogger } from '../../src/observability/logger';
import { requestMetrics } from '../../src/observability/middleware';
import type { AppEnv } from '../../src/platform/app-env';
import { versionOperation } from '../../src/version';
import { faultHeaders, faultKey } from './slo-support';
import { userToken } from './support';

function captureLogs() {
  const lines: string[] = [];
  for (const level of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
  }
  return {
    lines,
    json: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      }),
  };
}

afterEach(() => vi.restoreAllMocks());

/** The gate's user step as route middleware, for the bare apps below. */
const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  await authenticateUser(c);
  await next();
};

async function fetchWorker(path: string, headers: Record<string, string>, e: Env = env) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge.test${path}`, { headers }), e, ctx);
  await res.text();
  await waitOnExecutionContext(ctx);
  return res;
}

describe('request and job log lines', () => {
  it('one line per request with request id, operation, status, duration and user id; no token', async () => {
    const logs = captureLogs();
    const app = new Hono<AppEnv>();
    app.use('*', requestUnit);
    app.use('*', requestMetrics);
    app.get('/whoami/:x', requireUser, (c) => c.json({ id: c.get('user')!.id }));
    const user = crypto.randomUUID();
    const token = await userToken(user);
    const res = await app.request('/whoami/abc', { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-logs-test-1' } }, env);
    expect(res.status).toBe(200);
    const request = logs.json().filter((l) => l.msg === 'request');
    expect(request).toHaveLength(1);
    expect(request[0]).toMatchObject({
      request_id: 'req-logs-test-1',
      operation: 'GET /whoami/:x',
      status: 200,
      user_id: user,
      level: 'info',
    });
    expect(typeof request[0].duration_ms).toBe('number');
    expect(logs.lines.join('\n')).not.toContain(token);
  });

  it('the auth step is recorded as the kernel operation auth.login', async () => {
    const app = new Hono<AppEnv>();
    app.use('*', requestUnit);
    app.use('*', requestMetrics);
    app.get('/me', requireUser, (c) => c.text('ok'));
    isolateMetrics.buffer.drain(); // start from an empty buffer
    // A long slice, so the observations are still in the isolate's buffer after the request.
    const slow = { ...env, METRICS_FLUSH_MS: '25000' } as Env;
    await app.request('/me', { headers: { authorization: `Bearer ${await userToken(crypto.randomUUID())}` } }, slow);
    const series = isolateMetrics.buffer.drain();
    // The route, the auth step, and the per-version series the canary gate reads.
    expect(series.map((s) => s.op).sort()).toEqual(['GET /me', 'auth.login', versionOperation(slow)]);
    expect(series.find((s) => s.op === 'auth.login')).toMatchObject({ n: 1, err: 0 });
  });

  it('never logs the fault key, a bearer token or a database password, even inside values', () => {
    const logs = captureLogs();
    const log = createLogger({ request_id: 'x' });
    log.error('boom', {
      error: 'upstream said: Authorization: Bearer abc.def-SECRET',
      detail: 'postgres://user:hunter2@db:5432/x',
      jwt_like: 'eyJhbGciOi.eyJzdWIiOi.sig',
    });
    const line = logs.lines.join('\n');
    expect(line).not.toContain('abc.def-SECRET');
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('eyJhbGciOi.eyJzdWIiOi.sig');
    expect(line).toContain('Bearer [redacted]');
  });

  it('one line per cron job with request id, operation, status and duration', async () => {
    const logs = captureLogs();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '0 3 * * *', scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const job = logs.json().filter((l) => l.msg === 'job.done');
    expect(job.map((l) => l.operation)).toEqual(['cron.gc-intent-signals', 'cron.gc-queue-done']);
    for (const line of job) {
      expect(line).toMatchObject({ status: 'ok', cron: '0 3 * * *' });
      expect(typeof line.duration_ms).toBe('number');
    }
    // One invocation, one id shared by its jobs' lines.
    expect(job[0].request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job[1].request_id).toBe(job[0].request_id);
  });
});

describe('fault injection hook is test-only', () => {
  it('works in development with the key (the positive control)', async () => {
    const res = await fetchWorker('/nowhere', faultHeaders({ status: 503 }));
    expect(res.status).toBe(503);
  });

  it('is ignored when APP_ENV is production or staging, even with the right key', async () => {
    for (const APP_ENV of ['production', 'staging']) {
      const e = { ...env, APP_ENV } as unknown as Env;
      expect(requestedFault(e, (h) => faultHeaders({ status: 500, delayMs: 10 })[h])).toBeUndefined();
      const res = await fetchWorker('/nowhere', faultHeaders({ status: 503 }), e);
      expect(res.status).toBe(404);
    }
  });

  it('is ignored with a wrong key or when no key is configured', async () => {
    const wrong = await fetchWorker('/nowhere', { ...faultHeaders({ status: 503 }), 'x-fault-key': `${faultKey()}x` });
    expect(wrong.status).toBe(404);
    const noKey = { ...env, FAULT_INJECTION_KEY: '' } as unknown as Env;
    const res = await fetchWorker('/nowhere', faultHeaders({ status: 503 }), noKey);
    expect(res.status).toBe(404);
  });
});
