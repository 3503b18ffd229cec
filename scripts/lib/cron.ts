// A five-field cron matcher for the Cron Triggers of wrangler.toml, so `npm run dev` can fire them
// on their schedule. Cloudflare evaluates crons in UTC, and so does this.
//   minute hour day-of-month month day-of-week
// Each field: `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those;
// months and days of the week also by name (JAN–DEC, SUN–SAT). Anything else (L, W, #, ?, a
// numbered day of the week, both day fields restricted) is refused with the reason: firing a
// schedule differently from Cloudflare would be worse than not starting.

export interface CronSchedule {
  expr: string;
  /** Does the schedule fire in the minute that contains `time` (UTC)? */
  matches(time: Date): boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names for the values min, min+1, … */
  names?: string[];
  /** Numbers are refused (day of week: Cloudflare counts 1–7 from Sunday, classic cron 0–6). */
  namesOnly?: boolean;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 6, names: DAYS, namesOnly: true },
];

export class CronSyntaxError extends Error {
  constructor(expr: string, reason: string) {
    super(`cron "${expr}": ${reason}`);
    this.name = 'CronSyntaxError';
  }
}

/** The set of values one field allows, or null for `*` (every value). */
function parseField(expr: string, text: string, spec: FieldSpec): Set<number> | null {
  if (text === '*') return null;
  const fail = (why: string): never => {
    throw new CronSyntaxError(expr, `${spec.name} "${text}": ${why}`);
  };
  const value = (token: string): number => {
    const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
    if (named >= 0) return spec.min + named;
    if (!/^\d+$/.test(token))
      return fail(`"${token}" is not ${spec.names ? 'a number or a name' : 'a number'} (L, W, # and ? are not supported)`);
    if (spec.namesOnly) return fail(`write days by name (${DAYS[0]}–${DAYS[6]}): Cloudflare numbers them 1–7 from Sunday, other crons 0–6`);
    const n = Number(token);
    if (n < spec.min || n > spec.max) fail(`${n} is outside ${spec.min}–${spec.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/-]+)(?:-([^/]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) fail(`cannot read "${part}"`);
    const [, from, to, step] = m!;
    const lo = from === '*' ? spec.min : value(from!);
    const hi = from === '*' ? spec.max : to !== undefined ? value(to) : step !== undefined ? spec.max : lo;
    if (from === '*' && to !== undefined) fail(`"*" cannot start a range`);
    const by = step === undefined ? 1 : Number(step);
    if (by < 1) fail('a step must be at least 1');
    if (hi < lo) fail(`range ${lo}-${hi} runs backwards`);
    for (let v = lo; v <= hi; v += by) out.add(v);
  }
  return out;
}

export function parseCron(expr: string): CronSchedule {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new CronSyntaxError(expr, `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(expr, p, FIELDS[i]!));
  if (dom && dow) {
    throw new CronSyntaxError(expr, 'restricting both day of month and day of week is read differently by cron dialects; restrict one');
  }
  const ok = (set: Set<number> | null | undefined, v: number) => !set || set.has(v);
  return {
    expr,
    matches: (t) =>
      ok(minute, t.getUTCMinutes()) &&
      ok(hour, t.getUTCHours()) &&
      ok(dom, t.getUTCDate()) &&
      ok(month, t.getUTCMonth() + 1) &&
      ok(dow, t.getUTCDay()),
  };
}
