/** @jsxImportSource hono/jsx */
// The operator dashboard, server-rendered with hono/jsx: no build step, no client framework, no
// CDN. One column on a phone, a grid on a desk. The only script reloads the page every 30 s unless
// the operator is filling in a form.
import type { FC } from 'hono/jsx';
import { fmtTime } from './format';
import { WatchdogsPanel } from './panel-watchdogs';
import { AlertsPanel, SafeModePanel, SloPanel } from './panels';
import { DlqPanel, FlagsPanel, LedgerPanel, PolicyPanel, QueuesPanel } from './panels-work';
import type { PageProps } from './parts';

export { fmtAge, fmtMs, fmtNum, fmtPct, fmtTime } from './format';
export type { PageProps, RedriveInfo } from './parts';

export const REFRESH_SECONDS = 30;

const CSS = `
*{box-sizing:border-box} body{font:14px/1.45 system-ui,-apple-system,sans-serif;margin:0;color:#1a1a1a;background:#f4f5f7}
header{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;background:#111827;color:#fff}
header h1{font-size:1.05rem;margin:0} header small{color:#cbd5e1}
main{display:grid;gap:.8rem;padding:.8rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr))}
section{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:.7rem .9rem;min-width:0}
section.wide{grid-column:1/-1} h2{font-size:1rem;margin:.1rem 0 .5rem} h3{font-size:.85rem;margin:.6rem 0 .3rem;color:#374151}
.scroll{overflow-x:auto} table{border-collapse:collapse;width:100%;font-size:.82rem}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #f0f1f3;white-space:nowrap;vertical-align:top}
th{color:#6b7280;font-weight:600} [data-panel=ledger] td:last-child{white-space:normal;min-width:14rem}
.badge{display:inline-block;border-radius:999px;padding:.05rem .55rem;font-size:.78rem;font-weight:600}
.ok{background:#dcfce7;color:#166534} .bad{background:#fee2e2;color:#991b1b} .warn{background:#fef3c7;color:#92400e} .muted{color:#6b7280}
.big{font-size:1.5rem;padding:.2rem .9rem} .err{color:#991b1b;font-size:.82rem}
form.action{display:grid;gap:.4rem;margin-top:.5rem;max-width:28rem} input[type=text],input[type=password]{padding:.45rem;border:1px solid #cbd5e1;border-radius:6px;font:inherit;width:100%}
button{padding:.45rem .9rem;border:0;border-radius:6px;font:inherit;font-weight:600;cursor:pointer;background:#1d4ed8;color:#fff}
button.danger{background:#b91c1c} button.plain{background:#374151} label.confirm{display:flex;gap:.4rem;align-items:flex-start}
code,pre{font-size:.78rem;background:#f6f8fa;border-radius:4px} pre{padding:.5rem;overflow-x:auto;white-space:pre-wrap}
.flash{margin:.8rem .8rem 0;padding:.5rem .8rem;border-radius:8px;background:#dbeafe;color:#1e3a8a}
`;

const REFRESH_SCRIPT = `
setInterval(function () {
  var busy = document.activeElement && document.activeElement.closest && document.activeElement.closest('form');
  var typed = Array.prototype.some.call(document.querySelectorAll('form.action input[type=text]'), function (i) { return i.value; });
  if (!busy && !typed) location.reload();
}, ${REFRESH_SECONDS * 1000});`;

export const DashboardPage: FC<PageProps> = (props) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>{props.data.safeMode?.enabled ? '[SAFE MODE] ' : ''}Operator dashboard</title>
      <style>{CSS}</style>
    </head>
    <body>
      <header>
        <h1>Operator dashboard</h1>
        <small data-generated-at={props.data.generatedAt}>
          updated {fmtTime(props.data.generatedAt)} · refreshes every {REFRESH_SECONDS} s
        </small>
        {props.session && (
          <form method="post" action="/admin/dashboard/logout">
            <input type="hidden" name="csrf" value={props.csrf} />
            <button class="plain" type="submit">
              Log out
            </button>
          </form>
        )}
      </header>
      {props.flash && (
        <p class="flash" role="status">
          {props.flash}
        </p>
      )}
      <main>
        <SafeModePanel {...props} />
        <AlertsPanel {...props} />
        <WatchdogsPanel {...props} />
        <SloPanel {...props} />
        <QueuesPanel {...props} />
        <DlqPanel {...props} />
        <PolicyPanel {...props} />
        <FlagsPanel {...props} />
        <LedgerPanel {...props} />
      </main>
      <script dangerouslySetInnerHTML={{ __html: REFRESH_SCRIPT }} />
    </body>
  </html>
);

export const LoginPage: FC<{ error?: string }> = ({ error }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>Operator dashboard — log in</title>
      <style>{CSS}</style>
    </head>
    <body>
      <header>
        <h1>Operator dashboard</h1>
      </header>
      <main>
        <section>
          <h2>Log in</h2>
          {error && (
            <p class="err" role="alert">
              {error}
            </p>
          )}
          <form class="action" method="post" action="/admin/dashboard/login">
            <input type="password" name="key" required autocomplete="current-password" placeholder="Service key" aria-label="Service key" />
            <button type="submit">Log in</button>
          </form>
          <p class="muted">The key is checked once; the browser keeps an HttpOnly session cookie (12 h), never the key.</p>
        </section>
      </main>
    </body>
  </html>
);
