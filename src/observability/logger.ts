// One JSON object per line, for `wrangler tail --format json` and Workers Logs.
// Never log secrets: fields named like credentials are redacted.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_KEY = /authorization|token|secret|password|api[_-]?key|service[_-]?key|cookie|database_url/i;

// Values can carry secrets too (an error message quoting a header or a connection string): bearer
// credentials, JWTs and URL passwords are masked wherever they appear in a string field.
const SECRET_VALUES: [RegExp, string][] = [
  [/Bearer\s+[^\s"',;]+/gi, 'Bearer [redacted]'],
  [/eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, '[redacted-jwt]'],
  [/(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[redacted]@'],
];

export function scrub(value: string): string {
  let out = value;
  for (const [re, replacement] of SECRET_VALUES) out = out.replace(re, replacement);
  return out;
}

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { name: v.name, message: scrub(v.message) };
    else if (typeof v === 'string') out[k] = scrub(v);
    else out[k] = v;
  }
  return out;
}

export function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), level, msg, ...redact(base), ...redact(fields ?? {}) });
    if (level === 'error') console.error(line);
    else if (level === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

/**
 * The error the database driver raised, without the query wrapper drizzle puts around it
 * (DrizzleQueryError: its message quotes the SQL and every bind value — user data, claims). Logs,
 * error classification and operator-facing messages use the driver's own error.
 */
export function rootCause(err: unknown): unknown {
  let e = err;
  for (let depth = 0; depth < 5; depth++) {
    const wrapped = e instanceof Error && 'query' in e && 'params' in e && e.cause !== undefined;
    if (!wrapped) break;
    e = (e as Error).cause;
  }
  return e;
}

export function errorFields(error: unknown): LogFields {
  const err = rootCause(error);
  if (err instanceof Error) return { error: err.message, error_name: err.name };
  const message = (err as { message?: unknown } | null)?.message;
  return { error: typeof message === 'string' ? message : String(err) };
}
