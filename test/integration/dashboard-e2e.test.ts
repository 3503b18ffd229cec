// End to end, from the outside, on a private database: real HTTP traffic with injected 5xx (the
// test-only hook) → metrics middleware → EVENTS queue → rollups → the per-minute cron's alert
// evaluation (triggered with chosen times) → the burn-rate alert goes pending, fires, turns safe
// mode on (ledger entry with the reason), notifies the webhook (a failed POST is retried through
// the queue) → the dashboard, in headless Chromium, shows every panel populated → the operator
// turns safe mode off with the confirmation → the alert resolves later; safe mode stays off.
// Screenshots go to test-results/ (gitignored). The browser: test/support/chromium.ts (CHROME_PATH,
// playwright's own, the system's).
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type pg from 'pg';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveChromium } from '../support/chromium';
import { connect, freshDatabase } from '../support/pg';
import { seedOperationsFixture } from '../support/slo-fixture';
import { startWorkerDev, type WorkerDev } from '../support/worker-dev';

const SERVICE_KEY = 'e2e-service-role-key';
const FAULT_KEY = 'e2e-fault-injection-key';
const OUT = path.resolve(import.meta.dirname, '../../test-results');
// The ranking path (the guide's alias of POST /v1/rank; SLO target 99.9 %, seeds/0500): since issue
// 20 the seeded slo_burn_rate rule turns safe mode on only for its action_subjects, the ranking
// path (was GET /v1/flags, where safe mode cannot help; alerts-flapping.test.ts covers that case).
const OP = 'POST /functions/v1/policy-ranker';

let fresh: { url: string; drop(): Promise<void> };
let db: pg.Client;
let worker: WorkerDev;
let browser: Browser | undefined;
const hooks: { id: string; to: string; status: number }[] = [];
let hookServer: http.Server;

let chromiumPath: string;

beforeAll(async () => {
  chromiumPath = resolveChromium().path; // or one line saying how to install one
  await mkdir(OUT, { recursive: true });
  // Webhook receiver: the first POST of each notice fails (500) so the queue must retry it.
  const seen = new Set<string>();
  hookServer = http
    .createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const id = String(req.headers['x-alert-id']);
        const status = seen.has(id) ? 200 : 500;
        seen.add(id);
        hooks.push({ id, to: JSON.parse(body).to, status });
        res.writeHead(status).end();
      });
    })
    .listen(0, '127.0.0.1');
  await new Promise((r) => hookServer.once('listening', r));

  fresh = await freshDatabase();
  db = await connect(fresh.url);
  await seedOperationsFixture(db);
  worker = await startWorkerDev({
    databaseUrl: fresh.url,
    vars: {
      APP_ENV: 'development',
      SERVICE_ROLE_KEY: SERVICE_KEY,
      AUTH_JWT_SECRET: 'e2e-jwt-secret-0123',
      FAULT_INJECTION_KEY: FAULT_KEY,
      METRICS_FLUSH_MS: '200',
      ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`,
    },
  });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await db?.end();
  await fresh?.drop();
  hookServer?.close();
});

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${worker.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function safeModeInDb(): Promise<boolean> {
  const { rows } = await db.query("SELECT (value ->> 'enabled')::boolean AS on FROM public.feature_flags WHERE key = 'global.safe_mode'");
  return rows[0].on;
}

async function burnAlert() {
  const { rows } = await db.query(`SELECT * FROM public.alerts WHERE rule_id = 'slo_burn_rate' AND subject = $1 ORDER BY id DESC LIMIT 1`, [
    OP,
  ]);
  return rows[0];
}

describe('burn-rate alert → safe mode → dashboard', () => {
  let t0 = 0; // the first evaluation's time, after the traffic

  it('injected 5xx traffic lands in the rollups and the burn-rate view', async () => {
    const send = (status?: number) =>
      fetch(`${worker.base}/e2e-traffic`, {
        headers: { 'x-fault-key': FAULT_KEY, 'x-fault-op': OP, ...(status ? { 'x-fault-status': String(status) } : {}) },
      }).then(async (r) => {
        await r.text();
        return r.status;
      });
    const statuses: number[] = [];
    for (let wave = 0; wave < 6; wave++) {
      statuses.push(...(await Promise.all(Array.from({ length: 25 }, (_, i) => send(i % 5 === 0 ? 503 : undefined)))));
    }
    expect(statuses.filter((s) => s === 503)).toHaveLength(30);
    expect(statuses.filter((s) => s === 404)).toHaveLength(120);

    const totals = await until(`30 errors of ${OP} in request_metrics_minute`, async () => {
      const { rows } = await db.query(
        `SELECT sum(errors)::int AS errors FROM public.request_metrics_minute WHERE operation = $1 AND minute >= date_trunc('minute', now()) - interval '10 minutes'`,
        [OP],
      );
      return rows[0].errors === 30 ? rows[0] : undefined;
    });
    expect(totals.errors).toBe(30);
    // The view against the same hour summed by hand, in one statement (one now()).
    const {
      rows: [burn],
    } = await db.query(
      `SELECT b.requests_1h, b.errors_1h, b.burn_rate, w.req, w.err FROM public.vw_slo_burnrate b,
         (SELECT sum(requests)::int AS req, sum(errors)::int AS err FROM public.request_metrics_minute
          WHERE operation = $1 AND minute > date_trunc('minute', now()) - interval '60 minutes'
            AND minute <= date_trunc('minute', now())) w
       WHERE b.operation = $1`,
      [OP],
    );
    expect(burn.err).toBe(30);
    expect(Number(burn.requests_1h)).toBe(burn.req); // ~60 fixture minutes × 51 + the 150 injected
    expect(Number(burn.burn_rate)).toBeCloseTo(30 / burn.req / 0.001, 2);
    expect(Number(burn.burn_rate)).toBeGreaterThan(2);
  }, 60_000);

  it('the per-minute cron takes the burn-rate alert pending, then firing, and turns safe mode on', async () => {
    expect(await safeModeInDb()).toBe(false);
    t0 = Date.now();
    expect(await worker.cron('* * * * *', t0)).toBe(200);
    expect((await burnAlert()).state).toBe('pending');
    expect(await safeModeInDb()).toBe(false); // `for` is 120 s: one bad minute does not act

    expect(await worker.cron('* * * * *', t0 + 60_000)).toBe(200);
    expect((await burnAlert()).state).toBe('pending');

    expect(await worker.cron('* * * * *', t0 + 121_000)).toBe(200);
    const alert = await burnAlert();
    expect(alert).toMatchObject({ state: 'firing', action_result: 'safe_mode_on' });
    expect(await safeModeInDb()).toBe(true);
    const { rows: ledger } = await db.query(
      `SELECT actor, action, target, new_value, reason FROM public.ai_action_ledger WHERE actor = 'alert:slo_burn_rate'`,
    );
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ action: 'flag.set', target: 'global.safe_mode', new_value: { enabled: true } });
    expect(ledger[0].reason).toContain(`alert #${alert.id} slo_burn_rate fired on ${OP}`);
    // One structured log line per transition.
    const lines = worker
      .output()
      .split('\n')
      .filter((l) => l.includes('"alert.transition"') && l.includes('"slo_burn_rate"'));
    expect(lines.map((l) => JSON.parse(l.slice(l.indexOf('{'), l.lastIndexOf('}') + 1)).to)).toEqual(['pending', 'firing']);
  }, 60_000);

  it('each transition is posted to the webhook; a failed POST is retried through the queue', async () => {
    const { id } = await burnAlert();
    await until(
      'the firing notice delivered after a retry',
      async () =>
        hooks
          .filter((h) => h.id === `${id}:firing`)
          .map((h) => h.status)
          .join(',') === '500,200',
      45_000,
    );
    expect(hooks.filter((h) => h.id === `${id}:firing`).every((h) => h.to === 'firing')).toBe(true);
    expect(hooks.some((h) => h.id === `${id}:pending`)).toBe(true);
  }, 60_000);

  it('the dashboard shows every panel populated; the operator turns safe mode off with confirmation', async () => {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-background-networking', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();

    const login = await page.goto(`${worker.base}/admin/dashboard`);
    expect(login!.status()).toBe(401);
    await page.fill('input[name=key]', 'not-the-key');
    await page.click('button[type=submit]');
    await expect(page.textContent('[role=alert]')).resolves.toContain('not a valid service key');
    await page.fill('input[name=key]', SERVICE_KEY);
    await Promise.all([page.waitForURL(`${worker.base}/admin/dashboard`), page.click('button[type=submit]')]);
    const cookie = (await context.cookies()).find((c) => c.name === 'dash_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.value).not.toContain(SERVICE_KEY);

    const panel = (name: string) => page.locator(`[data-panel="${name}"]`);
    await expect(panel('safe-mode').textContent()).resolves.toMatch(/ON.*alert:slo_burn_rate/s);
    const alerts = await panel('alerts').textContent();
    expect(alerts).toContain('firing');
    expect(alerts).toContain('slo_burn_rate');
    expect(alerts).toContain(OP);
    expect(alerts).toContain('safe_mode: safe_mode_on');
    // Issue 21: the rule's hint is shown, pointing into docs/ONCALL.md.
    await expect(panel('alerts').locator('[data-runbook="slo_burn_rate"]').first().textContent()).resolves.toMatch(
      /^docs\/ONCALL\.md#slo_burn_rate: /,
    );
    const slos = await panel('slos').textContent();
    for (const op of ['POST /v1/rank', 'auth.login', OP]) expect(slos).toContain(op);
    expect(await panel('slos').locator('svg.spark polyline').count()).toBeGreaterThanOrEqual(3);
    const queues = await panel('queues').textContent();
    expect(queues).toMatch(/queued/);
    expect(queues).toContain('queue.events.lag'); // the consumer measured the EVENTS queue's lag
    await expect(panel('dlq').textContent()).resolves.toMatch(/discovery.*events/s);
    const {
      rows: [dead],
    } = await db.query('SELECT count(*)::int AS n FROM public.vw_dead_letter_queue');
    expect(dead.n).toBeGreaterThanOrEqual(3); // the fixture's 2 dead jobs and 1 dead message (the relay may add)
    await expect(panel('dlq').locator('.badge').first().textContent()).resolves.toBe(String(dead.n));
    const policies = await panel('policies').textContent();
    expect(policies).toContain('epsilon_greedy_v1');
    expect(policies).toContain('0.08');
    await expect(panel('flags').textContent()).resolves.toContain('{"enabled":true}');
    await expect(panel('ledger').textContent()).resolves.toMatch(/alert:slo_burn_rate.*flag\.set.*global\.safe_mode/s);
    expect(await page.locator('[data-error]').count()).toBe(0);
    await page.screenshot({ path: path.join(OUT, 'dashboard-safe-mode-on.png'), fullPage: true });

    // The toggle needs a reason and the confirmation box (the browser refuses to submit without).
    await page.fill('[data-panel="safe-mode"] input[name=reason]', 'burn traced to a bad deploy, rolled back');
    await page.click('[data-action="toggle-safe-mode"]');
    expect(await safeModeInDb()).toBe(true);
    await page.check('[data-panel="safe-mode"] input[name=confirm]');
    await Promise.all([page.waitForURL(/done=safe_mode_off/), page.click('[data-action="toggle-safe-mode"]')]);
    await expect(page.textContent('[role=status]')).resolves.toContain('Safe mode is OFF');
    await expect(panel('safe-mode').textContent()).resolves.toMatch(/OFF.*dashboard/s);
    expect(await safeModeInDb()).toBe(false);
    const {
      rows: [entry],
    } = await db.query(`SELECT actor, new_value, reason FROM public.ai_action_ledger WHERE action = 'flag.set' ORDER BY id DESC LIMIT 1`);
    expect(entry).toMatchObject({ actor: 'dashboard', new_value: { enabled: false }, reason: 'burn traced to a bad deploy, rolled back' });
    await page.screenshot({ path: path.join(OUT, 'dashboard-safe-mode-off.png'), fullPage: true });

    // Redrive the dead letters from the DLQ panel (reason + confirmation), through the DLQ module.
    const deadJobs = async () =>
      (await db.query(`SELECT count(*)::int AS n FROM public.marketplace_discovery_queue WHERE status = 'error'`)).rows[0].n;
    const before = await deadJobs();
    await page.fill('[data-panel="dlq"] input[name=reason]', 'catalog fixed');
    await page.check('[data-panel="dlq"] input[name=confirm]');
    await Promise.all([page.waitForURL(/done=dlq_redriven/), page.click('[data-action="redrive"]')]);
    const {
      rows: [redrive],
    } = await db.query(
      `SELECT actor, reason, new_value FROM public.ai_action_ledger WHERE action = 'dlq.redrive' ORDER BY id DESC LIMIT 1`,
    );
    expect(redrive).toMatchObject({ actor: 'dashboard', reason: 'catalog fixed' });
    const revived = redrive.new_value.discovery;
    expect(revived).toBeGreaterThanOrEqual(2); // the fixture's two dead jobs have no live twin
    await expect(page.textContent('[role=status]')).resolves.toContain(`${revived} discovery job(s) re-queued`);
    expect(await deadJobs()).toBe(before - revived);

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.addCookies([{ ...cookie!, sameSite: 'Strict' }]);
    const small = await phone.newPage();
    await small.goto(`${worker.base}/admin/dashboard`);
    await expect(small.locator('[data-panel="slos"]').isVisible()).resolves.toBe(true);
    // Phone-readable: the page never scrolls sideways; wide tables scroll inside their panel.
    expect(await small.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await small.screenshot({ path: path.join(OUT, 'dashboard-phone.png'), fullPage: true });
  }, 90_000);

  it('turning safe mode off stays a human decision; the alert resolves when the burn ends', async () => {
    expect(await worker.cron('* * * * *', t0 + 180_000)).toBe(200);
    expect((await burnAlert()).state).toBe('firing');
    expect(await safeModeInDb()).toBe(false); // not turned back on while the same alert still fires

    // Seven hours on, every window has moved past the errors. Since issue 20 an empty window is no
    // data, not clear (the alert stays firing), and resolving takes measured clear traffic held for
    // the rule's clear_for (900 s, seeds/0750): good traffic in the rollups, then two evaluations.
    const later = t0 + 7 * 3600_000;
    expect(await worker.cron('* * * * *', later)).toBe(200);
    expect((await burnAlert()).state).toBe('firing');
    await db.query(
      `INSERT INTO public.request_metrics_minute (operation, minute, requests, errors) VALUES ($1, date_trunc('minute', $2::timestamptz), 5000, 0)`,
      [OP, new Date(later)],
    );
    expect(await worker.cron('* * * * *', later + 60_000)).toBe(200);
    expect((await burnAlert()).state).toBe('firing'); // clear for 0 s of 900
    expect(await worker.cron('* * * * *', later + 960_000)).toBe(200);
    const alert = await burnAlert();
    expect(alert.state).toBe('resolved');
    expect(new Date(alert.resolved_at).getTime()).toBeGreaterThan(new Date(alert.fired_at).getTime());
    expect(await safeModeInDb()).toBe(false);
  }, 30_000);

  it('the safe-mode form refuses a change without confirmation or without login', async () => {
    const post = (headers: Record<string, string>, form: Record<string, string>) =>
      fetch(`${worker.base}/admin/dashboard/safe-mode`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(form),
      });
    expect((await post({}, { enabled: 'true', reason: 'test', confirm: 'yes' })).status).toBe(401);
    const bearer = { authorization: `Bearer ${SERVICE_KEY}` };
    expect((await post(bearer, { enabled: 'true', reason: 'no box ticked' })).status).toBe(400);
    expect(await safeModeInDb()).toBe(false);
  });
});
