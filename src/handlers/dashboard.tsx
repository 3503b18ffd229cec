/** @jsxImportSource hono/jsx */
// GET /admin/dashboard: the operator dashboard (service key as a bearer token, or the login form's
// HttpOnly session cookie). Forms: log in/out, toggle safe mode (reason + confirmation, through
// setFlag, so Postgres, KV and the ledger change together).
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { bearerToken, matchServiceKey } from '../auth/tokens';
import { loadDashboard } from '../dashboard/data';
import { DashboardPage, LoginPage, type RedriveInfo } from '../dashboard/page';
import { createSession, csrfToken, SESSION_COOKIE, SESSION_TTL_SECONDS, verifyCsrf, verifySession } from '../dashboard/session';
import { redriveDeadLetters } from '../discovery/dlq';
import { setFlag } from '../flags/write';
import { badRequest, forbidden, unauthorized } from '../http/errors';
import { errorDoc } from '../http/openapi';
import type { AppEnv } from '../platform/app-env';
import { type AccessOptions, createRouter, defineRoute } from '../platform/route';

export const dashboardRoutes = createRouter();

const DASHBOARD = '/admin/dashboard';
// The routes authenticate themselves (service key as a bearer token, or the session cookie) and
// take HTML form posts; the forms' bodies are small.
const PAGE: AccessOptions = { access: 'dashboard', forms: true };
const FORM: AccessOptions = { ...PAGE, maxBodyBytes: 16 * 1024 };
// The page renders what it could load (a panel whose query failed says so), and logging in or out
// is cookies only: none of these answers 503 when Postgres is down.
const NO_DB = { database: false } as const;
/** What requireFormAuth answers, besides the implied errors. */
const FORM_AUTH_ERRORS = { 401: errorDoc('Missing or invalid credentials'), 403: errorDoc('Authenticated but not allowed') };
const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
const redirect = (description: string) => ({ description, headers: { Location: { schema: { type: 'string' as const } } } });

/** The DLQ panel's redrive: a button (redriveDeadLetters, src/discovery/dlq.ts) and the CLI form. */
export const REDRIVE: RedriveInfo = {
  available: true,
  commands: [
    'npm run dlq -- list',
    'npm run dlq -- redrive --all --reason "…"          # or --id <id> …, --source discovery|events',
    'npm run dlq -- purge --all --older-than 7d --reason "…"   # after review',
  ],
};

const FLASH: Record<string, (n: Record<string, number>) => string> = {
  safe_mode_on: () => 'Safe mode is ON. The change is in the ledger; the edge picks it up from KV at once.',
  safe_mode_off: () => 'Safe mode is OFF. The change is in the ledger.',
  dlq_redriven: (n) =>
    `Redrive done: ${n.discovery ?? 0} discovery job(s) re-queued, ${n.resent ?? 0} message(s) re-sent, ` +
    `${n.requeued ?? 0} outbox row(s) re-queued, ${n.left ?? 0} left dead (superseded or unsendable). In the ledger as dlq.redrive.`,
};

type Auth = { kind: 'bearer' } | { kind: 'session'; session: string };

/** Bearer service key, or a valid session cookie; undefined when neither. */
async function dashboardAuth(c: Context<AppEnv>): Promise<Auth | undefined> {
  const token = bearerToken(c.req.header('authorization'));
  if (token && matchServiceKey(c.env, token)) return { kind: 'bearer' };
  const session = getCookie(c, SESSION_COOKIE);
  if (session && (await verifySession(c.env, session))) return { kind: 'session', session };
  return undefined;
}

/** POSTs from the page: a session with its CSRF token, or the bearer key (scripts). */
async function requireFormAuth(c: Context<AppEnv>, csrf: string | undefined): Promise<Auth> {
  const auth = await dashboardAuth(c);
  if (!auth) throw unauthorized('log in first');
  if (auth.kind === 'session' && !(await verifyCsrf(c.env, auth.session, csrf))) throw forbidden('invalid form token; reload the page');
  return auth;
}

defineRoute(
  dashboardRoutes,
  {
    ...PAGE,
    ...NO_DB,
    method: 'get',
    path: DASHBOARD,
    tags: ['dashboard'],
    summary: 'Operator dashboard (HTML): safe mode, alerts, SLOs and burn rates, queues, DLQ, policy health, flags, ledger',
    description:
      'Authenticate with the service key as a bearer token, or log in with the form (HttpOnly session cookie). Without either: the login form, status 401.',
    request: {
      query: z.object({
        done: z.string().max(40).optional(),
        discovery: z.coerce.number().int().min(0).optional(),
        resent: z.coerce.number().int().min(0).optional(),
        requeued: z.coerce.number().int().min(0).optional(),
        left: z.coerce.number().int().min(0).optional(),
      }),
    },
    responses: { 200: html('The dashboard'), 401: html('The login form') },
  },
  async (c) => {
    const auth = await dashboardAuth(c);
    if (!auth) return c.html(<LoginPage />, 401);
    const session = auth.kind === 'session' ? auth.session : undefined;
    const data = await loadDashboard(c.var.unit);
    const { done, ...counts } = c.req.valid('query');
    const flash = FLASH[done ?? '']?.(counts as Record<string, number>);
    c.header('cache-control', 'no-store');
    return c.html(
      <DashboardPage data={data} csrf={await csrfToken(c.env, session)} session={!!session} flash={flash} redrive={REDRIVE} />,
      200,
    );
  },
);

defineRoute(
  dashboardRoutes,
  {
    ...FORM,
    ...NO_DB,
    method: 'post',
    path: `${DASHBOARD}/login`,
    tags: ['dashboard'],
    security: [],
    summary: 'Log in to the dashboard with the service key (sets an HttpOnly, SameSite=Strict session cookie)',
    request: {
      body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ key: z.string().min(1).max(500) }) } }, required: true },
    },
    responses: { 303: redirect('Logged in: to the dashboard'), 401: html('Wrong key: the login form again') },
  },
  async (c) => {
    const { unit } = c.var;
    const { key } = c.req.valid('form');
    if (!matchServiceKey(c.env, key)) {
      unit.log.warn('dashboard.login_failed', {});
      return c.html(<LoginPage error="That is not a valid service key." />, 401);
    }
    setCookie(c, SESSION_COOKIE, await createSession(c.env), {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/admin',
      maxAge: SESSION_TTL_SECONDS,
      secure: new URL(c.req.url).protocol === 'https:',
    });
    unit.log.info('dashboard.login', {});
    return c.redirect(DASHBOARD, 303);
  },
);

defineRoute(
  dashboardRoutes,
  {
    ...FORM,
    ...NO_DB,
    method: 'post',
    path: `${DASHBOARD}/logout`,
    tags: ['dashboard'],
    security: [],
    summary: 'Log out (clears the session cookie)',
    request: {
      body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ csrf: z.string().optional() }) } }, required: false },
    },
    responses: { 303: redirect('To the login form') },
  },
  async (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/admin' });
    return c.redirect(DASHBOARD, 303);
  },
);

defineRoute(
  dashboardRoutes,
  {
    ...FORM,
    method: 'post',
    path: `${DASHBOARD}/safe-mode`,
    tags: ['dashboard'],
    summary: 'Turn safe mode on or off from the dashboard (confirmation and reason required; ledger actor "dashboard")',
    request: {
      body: {
        content: {
          'application/x-www-form-urlencoded': {
            schema: z.object({
              enabled: z.enum(['true', 'false']),
              reason: z.string().trim().min(3).max(500),
              confirm: z.string().optional(),
              csrf: z.string().optional(),
            }),
          },
        },
        required: true,
      },
    },
    responses: { 303: redirect('Done: back to the dashboard'), ...FORM_AUTH_ERRORS },
  },
  async (c) => {
    const { unit } = c.var;
    const form = c.req.valid('form');
    await requireFormAuth(c, form.csrf);
    if (form.confirm !== 'yes') throw badRequest('tick the confirmation box to change safe mode');
    const enabled = form.enabled === 'true';
    await setFlag(unit, 'global.safe_mode', { enabled }, { actor: 'dashboard', reason: form.reason, requestId: unit.id });
    return c.redirect(`${DASHBOARD}?done=${enabled ? 'safe_mode_on' : 'safe_mode_off'}`, 303);
  },
);

defineRoute(
  dashboardRoutes,
  {
    ...FORM,
    method: 'post',
    path: `${DASHBOARD}/dlq/redrive`,
    tags: ['dashboard'],
    summary: 'Redrive every dead letter from the dashboard (confirmation and reason required; ledger dlq.redrive, actor "dashboard")',
    request: {
      body: {
        content: {
          'application/x-www-form-urlencoded': {
            schema: z.object({ reason: z.string().trim().min(3).max(500), confirm: z.string().optional(), csrf: z.string().optional() }),
          },
        },
        required: true,
      },
    },
    responses: { 303: redirect('Done: back to the dashboard with the counts'), ...FORM_AUTH_ERRORS },
  },
  async (c) => {
    const { unit } = c.var;
    const form = c.req.valid('form');
    await requireFormAuth(c, form.csrf);
    if (form.confirm !== 'yes') throw badRequest('tick the confirmation box to redrive');
    const r = await redriveDeadLetters(unit, { all: true, reason: form.reason }, { actor: 'dashboard', requestId: unit.id });
    const q = new URLSearchParams({
      done: 'dlq_redriven',
      discovery: String(r.discovery),
      resent: String(r.events_resent),
      requeued: String(r.events_requeued),
      left: String(r.superseded + r.events_unsendable),
    });
    return c.redirect(`${DASHBOARD}?${q}`, 303);
  },
);
