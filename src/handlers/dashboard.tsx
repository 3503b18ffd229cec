/** @jsxImportSource hono/jsx */
// GET /admin/dashboard: the operator dashboard (service key as a bearer token, or the login form's
// HttpOnly session cookie). Forms: log in/out, toggle safe mode (reason + confirmation, through
// setFlag, so Postgres, KV and the ledger change together).
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { loadDashboard } from '../dashboard/data';
import { DashboardPage, LoginPage, type RedriveInfo } from '../dashboard/page';
import { createSession, csrfToken, SESSION_COOKIE, SESSION_TTL_SECONDS, verifyCsrf, verifySession } from '../dashboard/session';
import type { AppEnv } from '../env';
import { setFlag } from '../flags/write';
import { bearerToken, matchServiceKey } from '../lib/auth';
import { badRequest, forbidden, unauthorized } from '../lib/errors';
import { createRouter, errorResponses, serviceSecurity } from '../lib/openapi';

export const dashboardRoutes = createRouter();

const DASHBOARD = '/admin/dashboard';
const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
const redirect = (description: string) => ({ description, headers: { Location: { schema: { type: 'string' as const } } } });

/** No redrive function on main yet: the panel shows the commands (see docs/RUNBOOK.md "Dead letters"). */
export const REDRIVE: RedriveInfo = {
  available: false,
  commands: [
    '-- discovery jobs: back to the queue (the relay picks them up within a minute)',
    "UPDATE public.marketplace_discovery_queue SET status = 'queued', attempts = 0, last_error = NULL,",
    "       lease_token = NULL, lease_expires_at = NULL, dead_at = NULL, updated_at = now() WHERE status = 'error';",
    '-- after review, clear what cannot be redriven (guide appendix)',
    "DELETE FROM public.marketplace_discovery_queue WHERE status = 'error';",
    '-- source events = dead queue messages: review their bodies; re-sending them needs the redrive API',
    "SELECT id, topic, last_error, payload -> 'body' AS body FROM public.events_queue WHERE status = 'error';",
  ],
};

const FLASH: Record<string, string> = {
  safe_mode_on: 'Safe mode is ON. The change is in the ledger; the edge picks it up from KV at once.',
  safe_mode_off: 'Safe mode is OFF. The change is in the ledger.',
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

dashboardRoutes.openapi(
  createRoute({
    method: 'get', path: DASHBOARD, tags: ['dashboard'], security: serviceSecurity,
    summary: 'Operator dashboard (HTML): safe mode, alerts, SLOs and burn rates, queues, DLQ, policy health, flags, ledger',
    description: 'Authenticate with the service key as a bearer token, or log in with the form (HttpOnly session cookie). Without either: the login form, status 401.',
    request: { query: z.object({ done: z.string().max(40).optional() }) },
    responses: { 200: html('The dashboard'), 401: html('The login form') },
  }),
  async (c) => {
    const auth = await dashboardAuth(c);
    if (!auth) return c.html(<LoginPage />, 401);
    const session = auth.kind === 'session' ? auth.session : undefined;
    const data = await loadDashboard({ env: c.env, db: c.get('db'), log: c.get('log') });
    const flash = FLASH[c.req.valid('query').done ?? ''];
    c.header('cache-control', 'no-store');
    return c.html(<DashboardPage data={data} csrf={await csrfToken(c.env, session)} session={!!session} flash={flash} redrive={REDRIVE} />, 200);
  },
);

dashboardRoutes.openapi(
  createRoute({
    method: 'post', path: `${DASHBOARD}/login`, tags: ['dashboard'],
    summary: 'Log in to the dashboard with the service key (sets an HttpOnly, SameSite=Strict session cookie)',
    request: { body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ key: z.string().min(1).max(500) }) } }, required: true } },
    responses: { 303: redirect('Logged in: to the dashboard'), 401: html('Wrong key: the login form again'), 400: errorResponses[400] },
  }),
  async (c) => {
    const { key } = c.req.valid('form');
    if (!matchServiceKey(c.env, key)) {
      c.get('log').warn('dashboard.login_failed', {});
      return c.html(<LoginPage error="That is not a valid service key." />, 401);
    }
    setCookie(c, SESSION_COOKIE, await createSession(c.env), {
      httpOnly: true, sameSite: 'Strict', path: '/admin', maxAge: SESSION_TTL_SECONDS,
      secure: new URL(c.req.url).protocol === 'https:',
    });
    c.get('log').info('dashboard.login', {});
    return c.redirect(DASHBOARD, 303);
  },
);

dashboardRoutes.openapi(
  createRoute({
    method: 'post', path: `${DASHBOARD}/logout`, tags: ['dashboard'],
    summary: 'Log out (clears the session cookie)',
    request: { body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ csrf: z.string().optional() }) } }, required: false } },
    responses: { 303: redirect('To the login form') },
  }),
  async (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/admin' });
    return c.redirect(DASHBOARD, 303);
  },
);

dashboardRoutes.openapi(
  createRoute({
    method: 'post', path: `${DASHBOARD}/safe-mode`, tags: ['dashboard'], security: serviceSecurity,
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
    responses: { 303: redirect('Done: back to the dashboard'), ...errorResponses },
  }),
  async (c) => {
    const form = c.req.valid('form');
    await requireFormAuth(c, form.csrf);
    if (form.confirm !== 'yes') throw badRequest('tick the confirmation box to change safe mode');
    const enabled = form.enabled === 'true';
    await setFlag({ env: c.env, db: c.get('db'), log: c.get('log') }, 'global.safe_mode', { enabled }, {
      actor: 'dashboard', reason: form.reason, requestId: c.get('requestId'),
    });
    return c.redirect(`${DASHBOARD}?done=${enabled ? 'safe_mode_on' : 'safe_mode_off'}`, 303);
  },
);
