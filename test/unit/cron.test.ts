// The local cron scheduler (scripts/lib/cron.ts, scripts/lib/cron-scheduler.ts): which minutes a
// wrangler.toml cron fires in, that each due cron is triggered once per minute with its due minute
// as scheduledTime, that a run still going is skipped rather than stacked, and that every trigger
// is one log line with its outcome.
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CronSyntaxError, parseCron } from '../../scripts/lib/cron';
import { createCronScheduler, readCronTriggers, startCronScheduler, type TriggerOutcome } from '../../scripts/lib/cron-scheduler';

const ROOT = path.resolve(import.meta.dirname, '../..');
const at = (iso: string) => new Date(iso);
const ms = (iso: string) => Date.parse(iso);

/** Minutes of one UTC day in which `expr` fires. */
function firingsOfDay(expr: string, day = '2026-05-04'): string[] {
  const s = parseCron(expr);
  const out: string[] = [];
  for (let m = 0; m < 24 * 60; m++) {
    const t = new Date(ms(`${day}T00:00:00Z`) + m * 60_000);
    if (s.matches(t)) out.push(t.toISOString().slice(11, 16));
  }
  return out;
}

describe('parseCron', () => {
  it('fires the schedules of wrangler.toml in the minutes Cloudflare would (UTC)', () => {
    expect(firingsOfDay('* * * * *')).toHaveLength(1440);
    const five = firingsOfDay('*/5 * * * *');
    expect(five).toHaveLength(288);
    expect(five.slice(0, 4)).toEqual(['00:00', '00:05', '00:10', '00:15']);
    expect(five.every((t) => Number(t.slice(3)) % 5 === 0)).toBe(true);
    expect(firingsOfDay('0 2 * * *')).toEqual(['02:00']);
    expect(firingsOfDay('0 3 * * *')).toEqual(['03:00']);
    // The second within the minute does not matter; the UTC minute does.
    expect(parseCron('*/5 * * * *').matches(at('2026-05-04T12:05:59.999Z'))).toBe(true);
    expect(parseCron('*/5 * * * *').matches(at('2026-05-04T12:06:00.000Z'))).toBe(false);
    expect(parseCron('0 2 * * *').matches(at('2026-05-04T02:00:00+02:00'))).toBe(false); // 00:00 UTC
  });

  it('reads ranges, steps, lists and names', () => {
    expect(firingsOfDay('10-20/5,58 9 * * *')).toEqual(['09:10', '09:15', '09:20', '09:58']);
    expect(firingsOfDay('30 8-9 * * *')).toEqual(['08:30', '09:30']);
    const weekdays = parseCron('0 7 * * MON-FRI');
    expect(weekdays.matches(at('2026-05-04T07:00:00Z'))).toBe(true); // a Monday
    expect(weekdays.matches(at('2026-05-09T07:00:00Z'))).toBe(false); // a Saturday
    expect(parseCron('0 0 1 jan,jul *').matches(at('2026-07-01T00:00:00Z'))).toBe(true);
    expect(parseCron('0 0 1 jan,jul *').matches(at('2026-06-01T00:00:00Z'))).toBe(false);
    expect(parseCron('0 0 15 * *').matches(at('2026-05-15T00:00:00Z'))).toBe(true);
  });

  it('refuses what it would read differently from Cloudflare, saying why', () => {
    const refused: [string, RegExp][] = [
      ['* * * *', /expected 5 fields/],
      ['60 * * * *', /minute "60": 60 is outside 0–59/],
      ['* 24 * * *', /hour "24"/],
      ['0 0 L * *', /L, W, # and \? are not supported/],
      ['0 0 * * 1', /write days by name/],
      ['0 0 * * MON#2', /cannot read|not supported/],
      ['0 0 1 * MON', /restricting both day of month and day of week/],
      ['*/0 * * * *', /step must be at least 1/],
      ['20-10 * * * *', /runs backwards/],
      ['0 0 * FOO *', /not a number or a name/],
    ];
    for (const [expr, why] of refused) {
      expect(() => parseCron(expr), expr).toThrow(CronSyntaxError);
      expect(() => parseCron(expr), expr).toThrow(why);
    }
  });

  it('accepts every cron wrangler.toml declares (what npm run dev reads)', () => {
    const crons = readCronTriggers(path.join(ROOT, 'wrangler.toml'));
    expect(crons).toEqual(['* * * * *', '*/5 * * * *', '0 2 * * *', '0 3 * * *']);
    for (const c of crons) expect(() => parseCron(c)).not.toThrow();
    // Reading the file loads wrangler's bundle (seconds on a busy 2-core machine: 3.4 s in CI, past
    // the 5 s default once under load), hence the timeout.
  }, 30_000);
});

/** A trigger that records its calls and answers when told to. */
function fakeTrigger() {
  const calls: { cron: string; time: string }[] = [];
  const pending: { cron: string; resolve(o: TriggerOutcome): void; reject(e: Error): void }[] = [];
  const trigger = (cron: string, time: number) =>
    new Promise<TriggerOutcome>((resolve, reject) => {
      calls.push({ cron, time: new Date(time).toISOString() });
      pending.push({ cron, resolve, reject });
    });
  const finish = (cron: string, outcome: TriggerOutcome | Error) => {
    const i = pending.findIndex((p) => p.cron === cron);
    const [p] = pending.splice(i, 1);
    if (outcome instanceof Error) p!.reject(outcome);
    else p!.resolve(outcome);
  };
  return { calls, pending, trigger, finish };
}

const CRONS = ['* * * * *', '*/5 * * * *', '0 2 * * *', '0 3 * * *'];
const OK = { status: 200, body: 'ok' };

describe('cron scheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('triggers each due cron once, as of its due minute, and logs one line per trigger', async () => {
    const t = fakeTrigger();
    const log: string[] = [];
    const s = createCronScheduler({ crons: CRONS, trigger: t.trigger, log: (l) => log.push(l) });
    const tick = s.tick(ms('2026-05-04T02:00:00Z'));
    expect(t.calls).toEqual([
      { cron: '* * * * *', time: '2026-05-04T02:00:00.000Z' },
      { cron: '*/5 * * * *', time: '2026-05-04T02:00:00.000Z' },
      { cron: '0 2 * * *', time: '2026-05-04T02:00:00.000Z' },
    ]);
    t.finish('* * * * *', OK);
    t.finish('*/5 * * * *', OK);
    t.finish('0 2 * * *', { status: 500, body: 'exception' });
    await tick;
    expect(log).toHaveLength(3);
    expect(log[0]).toMatch(/^cron {6}\* \* \* \* \* {4}02:00Z {2}ok \(200\) in \d+ ms$/);
    expect(log[2]).toMatch(/^cron {6}0 2 \* \* \* {4}02:00Z {2}FAILED \(500 exception\) in \d+ ms: see the Worker's job\.failed lines$/);

    await Promise.all([s.tick(ms('2026-05-04T02:01:00Z')), t.finish('* * * * *', OK)]);
    expect(t.calls.slice(3).map((c) => c.cron)).toEqual(['* * * * *']);
  });

  it('skips a cron whose previous run is still going, logs it, and runs it again once that ends', async () => {
    const t = fakeTrigger();
    const log: string[] = [];
    const s = createCronScheduler({ crons: ['* * * * *'], trigger: t.trigger, log: (l) => log.push(l) });
    const first = s.tick(ms('2026-05-04T12:00:00Z'));
    await s.tick(ms('2026-05-04T12:01:00Z'));
    await s.tick(ms('2026-05-04T12:02:00Z'));
    expect(t.calls).toHaveLength(1);
    expect(log).toEqual([
      'cron      * * * * *  12:01Z  skipped: the 12:00Z run is still going',
      'cron      * * * * *  12:02Z  skipped: the 12:00Z run is still going',
    ]);
    t.finish('* * * * *', OK);
    await first;
    const next = s.tick(ms('2026-05-04T12:03:00Z'));
    t.finish('* * * * *', new Error('fetch failed'));
    await next;
    expect(t.calls.map((c) => c.time)).toEqual(['2026-05-04T12:00:00.000Z', '2026-05-04T12:03:00.000Z']);
    expect(log[2]).toMatch(/12:00Z {2}ok \(200\)/);
    expect(log[3]).toMatch(/12:03Z {2}FAILED: fetch failed after \d+ ms$/);
  });

  it('fires a cron every minute only when a test asks for it', async () => {
    const t = fakeTrigger();
    const s = createCronScheduler({ crons: CRONS, trigger: t.trigger, log: () => {}, everyMinute: ['*/5 * * * *'] });
    const tick = s.tick(ms('2026-05-04T12:07:00Z'));
    expect(t.calls.map((c) => c.cron)).toEqual(['* * * * *', '*/5 * * * *']);
    for (const p of [...t.pending]) t.finish(p.cron, OK);
    await tick;
  });

  it('ticks at each wall-clock minute boundary, never twice for one minute, and stops', async () => {
    vi.useFakeTimers({ now: ms('2026-05-04T12:04:59.000Z') });
    const t = fakeTrigger();
    const s = startCronScheduler({
      crons: ['*/5 * * * *'],
      trigger: async (c, time) => {
        t.calls.push({ cron: c, time: new Date(time).toISOString() });
        return OK;
      },
      log: () => {},
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(t.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.calls).toEqual([{ cron: '*/5 * * * *', time: '2026-05-04T12:05:00.000Z' }]);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(t.calls.map((c) => c.time)).toEqual(['2026-05-04T12:05:00.000Z', '2026-05-04T12:10:00.000Z']);
    s.stop();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(t.calls).toHaveLength(2);
  });
});
