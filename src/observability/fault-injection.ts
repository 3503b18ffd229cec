// Test-only latency/error injection, so tests (and a developer at `npm run dev`) can drive real
// traffic with known latencies and 5xx through the real metrics → queue → rollup → alert path.
//
// OFF unless all three hold: APP_ENV is "development", the FAULT_INJECTION_KEY secret is set, and
// the request carries `x-fault-key` equal to it. Deployed environments set APP_ENV to staging or
// production in wrangler.toml, so the headers are ignored there even if the key leaked.
//   x-fault-delay-ms: 0..10000   sleep before the route runs (counted in the request's latency)
//   x-fault-status:   500..599   answer with that status (error envelope, code "injected_fault")
//   x-fault-op:       name       record the request under this operation name (isolates a test's
//                                series in a shared database)
import type { MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { timingSafeEqual } from '../auth/tokens';
import { getConfig } from '../config';
import { ApiError } from '../http/errors';
import type { AppEnv } from '../platform/app-env';

export interface Fault {
  delayMs: number;
  status?: number;
  operation?: string;
}

const OPERATION = /^[\w .:/{}-]{1,100}$/;

/** The fault a request asks for, or undefined when injection is off or not asked for. */
export function requestedFault(env: Env, header: (name: string) => string | undefined): Fault | undefined {
  const key = header('x-fault-key');
  if (!key) return undefined;
  let config: ReturnType<typeof getConfig>;
  try {
    config = getConfig(env);
  } catch {
    return undefined;
  }
  if (config.APP_ENV !== 'development' || !config.FAULT_INJECTION_KEY) return undefined;
  if (!timingSafeEqual(key, config.FAULT_INJECTION_KEY)) return undefined;
  const delay = Number(header('x-fault-delay-ms') ?? 0);
  const status = Number(header('x-fault-status') ?? NaN);
  const op = header('x-fault-op');
  return {
    delayMs: Number.isFinite(delay) ? Math.min(Math.max(delay, 0), 10_000) : 0,
    status: Number.isInteger(status) && status >= 500 && status <= 599 ? status : undefined,
    operation: op && OPERATION.test(op) ? op : undefined,
  };
}

export const faultInjection: MiddlewareHandler<AppEnv> = async (c, next) => {
  const fault = requestedFault(c.env, (name) => c.req.header(name));
  if (!fault) return next();
  c.var.unit.log.warn('fault.injected', { delay_ms: fault.delayMs, status: fault.status, fault_operation: fault.operation });
  if (fault.operation) c.set('operation', fault.operation);
  if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
  if (fault.status) throw new ApiError(fault.status as ContentfulStatusCode, 'injected_fault', 'injected fault (test hook)');
  return next();
};
