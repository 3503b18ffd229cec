/** @jsxImportSource hono/jsx */
// The operator dashboard, server-rendered with hono/jsx: no build step, no client framework, no
// CDN. One column on a phone, a grid on a desk. The only script reloads the page every 30 s unless
// the operator is filling in a form.
import type { Child, FC } from 'hono/jsx';
import type { DashboardData, Panel, Row } from './data';
import { Sparkline } from './sparkline';

export interface PageProps {
  data: DashboardData;
  csrf: string;
  /** Cookie session (forms work) vs bearer view (read-only: a browser form cannot send the key). */
  session: boolean;
  flash?: string;
  redrive: RedriveInfo;
}

/** How the DLQ panel offers a redrive: a button (when wired and logged in) and the CLI commands. */
export interface RedriveInfo {
  available: boolean;
  commands: string[];
}

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

// ---------------------------------------------------------------- formatting
export const fmtMs = (v: unknown) => (v === null || v === undefined ? '—' : `${Number(v) < 10 ? Number(v).toFixed(1) : Math.round(Number(v))} ms`);
export const fmtPct = (v: unknown, digits = 2) => (v === null || v === undefined ? '—' : `${(Number(v) * 100).toFixed(digits)} %`);
export const fmtNum = (v: unknown, digits = 2) => (v === null || v === undefined ? '—' : Number(Number(v).toFixed(digits)).toString());
export function fmtTime(v: unknown): string {
  if (!v) return '—';
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}
export function fmtAge(v: unknown, now: Date): string {
  if (!v) return '—';
  const s = Math.max(0, Math.round((now.getTime() - new Date(String(v instanceof Date ? v.toISOString() : v)).getTime()) / 1000));
  return s < 90 ? `${s}s ago` : s < 5400 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}
const json = (v: unknown) => JSON.stringify(v);

// ---------------------------------------------------------------- pieces
const Table: FC<{ head: string[]; rows: Child[][]; empty: string }> = ({ head, rows, empty }) =>
  rows.length === 0 ? <p class="muted">{empty}</p> : (
    <div class="scroll">
      <table>
        <thead><tr>{head.map((h) => <th>{h}</th>)}</tr></thead>
        <tbody>{rows.map((r) => <tr>{r.map((cell) => <td>{cell}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );

const PanelError: FC<{ errors: DashboardData['errors']; panel: Panel }> = ({ errors, panel }) =>
  errors[panel] ? <p class="err" data-error={panel}>Could not load: {errors[panel]}</p> : null;

const Badge: FC<{ kind: 'ok' | 'bad' | 'warn'; children: Child; big?: boolean }> = ({ kind, children, big }) =>
  <span class={`badge ${kind}${big ? ' big' : ''}`}>{children}</span>;

// ---------------------------------------------------------------- panels
const SafeModePanel: FC<PageProps> = ({ data, csrf, session }) => {
  const sm = data.safeMode;
  const on = sm?.enabled === true;
  return (
    <section data-panel="safe-mode">
      <h2>Safe mode</h2>
      {sm === null ? <PanelError errors={data.errors} panel="flags" /> : (
        <>
          <p>
            <Badge kind={on ? 'bad' : 'ok'} big>{on ? 'ON' : 'OFF'}</Badge>{' '}
            <span class="muted">since {fmtTime(sm.updatedAt)} by {sm.updatedBy ?? '—'}</span>
          </p>
          {sm.rolloutPercent !== undefined && (
            <p><Badge kind="warn">canary</Badge> {sm.rolloutPercent} % of users get the rollout value (see Flags); the toggle replaces it.</p>
          )}
          <p class="muted">{on ? 'Exploration is off; every slate is the deterministic fallback.' : 'Ranking explores with the configured epsilon.'}</p>
          {session ? (
            <form class="action" method="post" action="/admin/dashboard/safe-mode">
              <input type="hidden" name="csrf" value={csrf} />
              <input type="hidden" name="enabled" value={on ? 'false' : 'true'} />
              <input type="text" name="reason" required maxlength={500} placeholder="Reason (goes to the ledger)" aria-label="Reason" />
              <label class="confirm">
                <input type="checkbox" name="confirm" value="yes" required />
                <span>I confirm: turn safe mode {on ? 'OFF — exploration resumes for every user' : 'ON — every user gets fallback slates'}</span>
              </label>
              <button class={on ? 'plain' : 'danger'} type="submit" data-action="toggle-safe-mode">Turn safe mode {on ? 'OFF' : 'ON'}</button>
            </form>
          ) : <p class="muted">Log in with the form to change it (bearer views are read-only).</p>}
        </>
      )}
    </section>
  );
};

const AlertsPanel: FC<PageProps> = ({ data }) => {
  const now = new Date(data.generatedAt);
  const active = data.alerts?.active ?? [];
  return (
    <section data-panel="alerts">
      <h2>Alerts {active.some((a) => a.state === 'firing') ? <Badge kind="bad">{active.filter((a) => a.state === 'firing').length} firing</Badge> : <Badge kind="ok">none firing</Badge>}</h2>
      <PanelError errors={data.errors} panel="alerts" />
      <Table
        head={['state', 'rule', 'subject', 'value', 'threshold', 'since', 'action']}
        empty="No open alerts."
        rows={active.map((a: Row) => [
          <Badge kind={a.state === 'firing' ? 'bad' : 'warn'}>{a.state}{a.silenced ? ' (silenced)' : ''}</Badge>,
          <span title={a.description}>{a.rule_id}</span>, a.subject, fmtNum(a.last_value, 3), `${a.comparator} ${a.threshold}`,
          fmtAge(a.state === 'firing' ? a.fired_at : a.pending_since, now),
          a.action === 'notify' ? '—' : `${a.action}: ${a.action_result ?? 'pending'}`,
        ])}
      />
      {(data.alerts?.recent.length ?? 0) > 0 && (
        <>
          <h3>Recently closed</h3>
          <Table head={['state', 'rule', 'subject', 'closed']} empty="" rows={data.alerts!.recent.map((a: Row) => [a.state, a.rule_id, a.subject, fmtAge(a.resolved_at, now)])} />
        </>
      )}
    </section>
  );
};

const SloPanel: FC<PageProps> = ({ data }) => {
  const slos = data.slos;
  const series = new Map<string, (number | null)[]>();
  for (const p of slos?.series ?? []) {
    const s = series.get(p.operation) ?? [];
    s[Number(p.step)] = p.burn_rate === null ? null : Number(p.burn_rate);
    series.set(p.operation, s);
  }
  return (
    <section class="wide" data-panel="slos">
      <h2>SLOs (last hour)</h2>
      <PanelError errors={data.errors} panel="slos" />
      <Table
        head={['operation', 'requests', 'errors', 'p50', 'p95', 'p99', 'target p95', 'met']}
        empty="No traffic recorded in the last hour."
        rows={(slos?.kernel ?? []).map((r: Row) => [
          <code>{r.operation}</code>, r.requests, fmtPct(r.error_rate), fmtMs(r.p50_ms), fmtMs(r.p95_ms), fmtMs(r.p99_ms),
          r.target_p95_ms === null ? '—' : fmtMs(r.target_p95_ms),
          r.met === null ? <span class="muted">no SLO</span> : r.met ? <Badge kind="ok">met</Badge> : <Badge kind="bad">missed</Badge>,
        ])}
      />
      <h3>Error-budget burn rate (last 6 h, 10-minute steps; dashed line = 2.0)</h3>
      <Table
        head={['SLO', 'trend', '5 m', '30 m', '1 h', '6 h', 'SRE alert']}
        empty="No SLO has traffic in the last 6 hours."
        rows={(slos?.burn ?? []).map((r: Row) => [
          <code>{r.operation}</code>,
          <Sparkline values={Array.from({ length: 36 }, (_, i) => series.get(r.operation)?.[i] ?? null)} threshold={2} label={`burn rate of ${r.operation}, last 6 hours`} />,
          fmtNum(r.burn_rate_5m), fmtNum(r.burn_rate_30m),
          Number(r.burn_rate_1h) > 2 ? <Badge kind="bad">{fmtNum(r.burn_rate_1h)}</Badge> : fmtNum(r.burn_rate_1h),
          fmtNum(r.burn_rate_6h),
          r.page_alert ? <Badge kind="bad">page</Badge> : r.ticket_alert ? <Badge kind="warn">ticket</Badge> : <span class="muted">—</span>,
        ])}
      />
    </section>
  );
};

const QueuesPanel: FC<PageProps> = ({ data }) => {
  const lag = (data.slos?.kernel ?? []).filter((r: Row) => String(r.operation).startsWith('queue.'));
  return (
    <section data-panel="queues">
      <h2>Queues</h2>
      <PanelError errors={data.errors} panel="queues" />
      <h3>Discovery jobs (vw_discovery_queue_health)</h3>
      <Table
        head={['status', 'count', 'p95 age', 'oldest']} empty="No discovery jobs."
        rows={(data.queues?.discovery ?? []).map((r: Row) => [
          r.status, r.count,
          r.status === 'queued' && Number(r.p95_age_sec) > 300 ? <Badge kind="bad">{r.p95_age_sec} s</Badge> : `${r.p95_age_sec ?? '—'} s`,
          `${r.oldest_age_sec ?? '—'} s`,
        ])}
      />
      <h3>Outbox (vw_events_queue_health)</h3>
      <Table head={['topic', 'status', 'count', 'p95 age']} empty="Outbox empty."
        rows={(data.queues?.events ?? []).map((r: Row) => [r.topic, r.status, r.count, `${r.p95_age_sec ?? '—'} s`])} />
      <h3>Queue lag, enqueue → consumer (last hour)</h3>
      <Table head={['queue', 'messages', 'p50', 'p95', 'p99']} empty="No messages consumed in the last hour."
        rows={lag.map((r: Row) => [<code>{r.operation}</code>, r.requests, fmtMs(r.p50_ms), fmtMs(r.p95_ms), fmtMs(r.p99_ms)])} />
    </section>
  );
};

const DlqPanel: FC<PageProps> = ({ data, csrf, session, redrive }) => {
  const total = (data.dlq?.bySource ?? []).reduce((n: number, r: Row) => n + Number(r.count), 0);
  return (
    <section data-panel="dlq">
      <h2>Dead letters {total === 0 ? <Badge kind="ok">empty</Badge> : <Badge kind="bad">{total}</Badge>}</h2>
      <PanelError errors={data.errors} panel="dlq" />
      <Table head={['source', 'count', 'newest']} empty="Nothing dead."
        rows={(data.dlq?.bySource ?? []).map((r: Row) => [r.source, r.count, fmtTime(r.newest)])} />
      {(data.dlq?.latest.length ?? 0) > 0 && (
        <>
          <h3>Latest</h3>
          <Table head={['source', 'id', 'topic', 'attempts', 'error', 'dead since']} empty=""
            rows={data.dlq!.latest.map((r: Row) => [r.source, <code>{r.id}</code>, r.topic, r.attempts, <span title={r.last_error}>{String(r.last_error ?? '').slice(0, 60)}</span>, fmtTime(r.dead_since)])} />
        </>
      )}
      {total > 0 && redrive.available && session && (
        <form class="action" method="post" action="/admin/dashboard/dlq/redrive">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="text" name="reason" required maxlength={500} placeholder="Reason (goes to the ledger)" aria-label="Redrive reason" />
          <label class="confirm"><input type="checkbox" name="confirm" value="yes" required /><span>I confirm: redrive all {total} dead letters</span></label>
          <button type="submit" data-action="redrive">Redrive all</button>
        </form>
      )}
      {total > 0 && (
        <details>
          <summary>From a terminal</summary>
          <pre data-redrive-command>{redrive.commands.join('\n')}</pre>
        </details>
      )}
    </section>
  );
};

const PolicyPanel: FC<PageProps> = ({ data }) => {
  const recent = new Map((data.policies?.recent ?? []).map((r: Row) => [r.policy, r]));
  return (
    <section data-panel="policies">
      <h2>Policy health</h2>
      <PanelError errors={data.errors} panel="policies" />
      <p class="muted">Deviation = |exploration of the last 15 min − effective ε| / ε (the alert's measure; ε is 0 in safe mode).</p>
      <Table
        head={['policy', 'decisions', 'exploration', 'ε', 'last 15 min', 'deviation', 'mean reward', 'last event']}
        empty="No learning events yet."
        rows={(data.policies?.rows ?? []).map((r: Row) => {
          const eps = r.epsilon === null || r.epsilon === undefined ? null : Number(r.epsilon);
          const last = recent.get(r.policy);
          const liveEps = last?.epsilon === null || last?.epsilon === undefined ? null : Number(last.epsilon);
          const dev = last && liveEps && liveEps > 0 ? Math.abs(Number(last.exploration_rate) - liveEps) / liveEps : null;
          return [
            <code>{r.policy}</code>, r.decisions ?? '—', fmtPct(r.exploration_rate), eps === null ? <span class="muted">not live</span> : fmtNum(eps, 3),
            last ? `${fmtPct(last.exploration_rate)} of ${last.samples}` : '—',
            dev === null ? (liveEps === 0 ? <span class="muted">safe mode</span> : '—')
              : dev > 0.5 ? <Badge kind="bad">{fmtPct(dev, 0)}</Badge> : <Badge kind="ok">{fmtPct(dev, 0)}</Badge>,
            fmtNum(r.mean_reward, 3), fmtTime(r.last_event_at),
          ];
        })}
      />
    </section>
  );
};

const FlagsPanel: FC<PageProps> = ({ data }) => (
  <section data-panel="flags">
    <h2>Flags</h2>
    <PanelError errors={data.errors} panel="flags" />
    <Table head={['key', 'value', 'updated', 'by']} empty="No flags."
      rows={(data.flags ?? []).map((f) => [<code>{f.key}</code>,
        <span><code>{json(f.value)}</code>{f.rolloutPercent !== undefined && <> <Badge kind="warn">rollout {f.rolloutPercent} %</Badge></>}</span>,
        fmtTime(f.updatedAt), f.updatedBy ?? '—'])} />
  </section>
);

const LedgerPanel: FC<PageProps> = ({ data }) => (
  <section class="wide" data-panel="ledger">
    <h2>Latest actions (ai_action_ledger)</h2>
    <PanelError errors={data.errors} panel="ledger" />
    <Table head={['when', 'actor', 'action', 'target', 'new value', 'reason']} empty="No actions recorded."
      rows={(data.ledger ?? []).map((r: Row) => [fmtTime(r.timestamp), r.actor, r.action, r.target ?? '—', <code>{json(r.new_value)}</code>,
        r.reason ?? ''])} />
  </section>
);

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
        <small data-generated-at={props.data.generatedAt}>updated {fmtTime(props.data.generatedAt)} · refreshes every {REFRESH_SECONDS} s</small>
        {props.session && (
          <form method="post" action="/admin/dashboard/logout">
            <input type="hidden" name="csrf" value={props.csrf} />
            <button class="plain" type="submit">Log out</button>
          </form>
        )}
      </header>
      {props.flash && <p class="flash" role="status">{props.flash}</p>}
      <main>
        <SafeModePanel {...props} />
        <AlertsPanel {...props} />
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
      <header><h1>Operator dashboard</h1></header>
      <main>
        <section>
          <h2>Log in</h2>
          {error && <p class="err" role="alert">{error}</p>}
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
