/** @jsxImportSource hono/jsx */
// The dashboard's status panels: safe mode, alerts, SLOs (the work panels — queues, dead letters, policy
// health, flags, the ledger — are in panels-work.tsx).
import type { FC } from 'hono/jsx';
import { fmtAge, fmtMs, fmtNum, fmtPct, fmtTime } from './format';
import { Badge, type PageProps, PanelError, Table } from './parts';
import { Sparkline } from './sparkline';

export const SafeModePanel: FC<PageProps> = ({ data, csrf, session }) => {
  const sm = data.safeMode;
  const on = sm?.enabled === true;
  return (
    <section data-panel="safe-mode">
      <h2>Safe mode</h2>
      {sm === null ? (
        <PanelError errors={data.errors} panel="flags" />
      ) : (
        <>
          <p>
            <Badge kind={on ? 'bad' : 'ok'} big>
              {on ? 'ON' : 'OFF'}
            </Badge>{' '}
            <span class="muted">
              since {fmtTime(sm.updatedAt)} by {sm.updatedBy ?? '—'}
            </span>
          </p>
          {sm.rolloutPercent !== undefined && (
            <p>
              <Badge kind="warn">canary</Badge> {sm.rolloutPercent} % of users get the rollout value (see Flags); the toggle replaces it.
            </p>
          )}
          <p class="muted">
            {on ? 'Exploration is off; every slate is the deterministic fallback.' : 'Ranking explores with the configured epsilon.'}
          </p>
          {session ? (
            <form class="action" method="post" action="/admin/dashboard/safe-mode">
              <input type="hidden" name="csrf" value={csrf} />
              <input type="hidden" name="enabled" value={on ? 'false' : 'true'} />
              <input type="text" name="reason" required maxlength={500} placeholder="Reason (goes to the ledger)" aria-label="Reason" />
              <label class="confirm">
                <input type="checkbox" name="confirm" value="yes" required />
                <span>
                  I confirm: turn safe mode {on ? 'OFF — exploration resumes for every user' : 'ON — every user gets fallback slates'}
                </span>
              </label>
              <button class={on ? 'plain' : 'danger'} type="submit" data-action="toggle-safe-mode">
                Turn safe mode {on ? 'OFF' : 'ON'}
              </button>
            </form>
          ) : (
            <p class="muted">Log in with the form to change it (bearer views are read-only).</p>
          )}
        </>
      )}
    </section>
  );
};

export const AlertsPanel: FC<PageProps> = ({ data }) => {
  const now = new Date(data.generatedAt);
  const active = data.alerts?.active ?? [];
  return (
    <section data-panel="alerts">
      <h2>
        Alerts{' '}
        {active.some((a) => a.state === 'firing') ? (
          <Badge kind="bad">{active.filter((a) => a.state === 'firing').length} firing</Badge>
        ) : (
          <Badge kind="ok">none firing</Badge>
        )}
      </h2>
      <PanelError errors={data.errors} panel="alerts" />
      <Table
        head={['state', 'rule', 'subject', 'value', 'threshold', 'since', 'action', 'runbook']}
        empty="No open alerts."
        rows={active.map((a) => [
          <Badge kind={a.state === 'firing' ? 'bad' : 'warn'}>
            {a.state}
            {a.silenced ? ' (silenced)' : ''}
          </Badge>,
          <span title={a.description}>{a.rule_id}</span>,
          a.subject,
          fmtNum(a.last_value, 3),
          `${a.comparator} ${a.threshold}`,
          fmtAge(a.state === 'firing' ? a.fired_at : a.pending_since, now),
          a.action === 'notify' ? '—' : `${a.action}: ${a.action_result ?? 'pending'}`,
          // Where to look first: the rule's hint names its section of docs/ONCALL.md.
          a.runbook ? <code data-runbook={a.rule_id}>{a.runbook}</code> : '—',
        ])}
      />
      {(data.alerts?.recent.length ?? 0) > 0 && (
        <>
          <h3>Recently closed</h3>
          <Table
            head={['state', 'rule', 'subject', 'closed']}
            empty=""
            rows={data.alerts!.recent.map((a) => [a.state, a.rule_id, a.subject, fmtAge(a.resolved_at, now)])}
          />
        </>
      )}
    </section>
  );
};

export const SloPanel: FC<PageProps> = ({ data }) => {
  const slos = data.slos;
  const series = new Map<string, (number | null)[]>();
  for (const p of slos?.series ?? []) {
    const s = series.get(p.operation) ?? [];
    s[Number(p.step)] = p.burn_rate === null ? null : Number(p.burn_rate);
    series.set(p.operation, s);
  }
  // Rate-limit decisions the per-isolate fallback made because the exact limiter failed or was slow
  // (alert rule ratelimit_fallback; RUNBOOK §7 "Rate limits").
  const fallback = slos?.kernel.find((r) => r.operation === 'ratelimit.fallback');
  return (
    <section class="wide" data-panel="slos">
      <h2>SLOs (last hour)</h2>
      <PanelError errors={data.errors} panel="slos" />
      <p data-ratelimit-fallback>
        Rate limiter:{' '}
        {!slos ? (
          '—'
        ) : fallback && fallback.requests > 0 ? (
          <Badge kind="warn">
            {fallback.requests} decisions by the per-isolate fallback ({fallback.errors} refused)
          </Badge>
        ) : (
          <Badge kind="ok">exact (no fallback decision)</Badge>
        )}
      </p>
      <Table
        head={['operation', 'requests', 'errors', 'p50', 'p95', 'p99', 'target p95', 'met']}
        empty="No traffic recorded in the last hour."
        rows={(slos?.kernel ?? []).map((r) => [
          <code>{r.operation}</code>,
          r.requests,
          fmtPct(r.error_rate),
          fmtMs(r.p50_ms),
          fmtMs(r.p95_ms),
          fmtMs(r.p99_ms),
          r.target_p95_ms === null ? '—' : fmtMs(r.target_p95_ms),
          r.met === null ? <span class="muted">no SLO</span> : r.met ? <Badge kind="ok">met</Badge> : <Badge kind="bad">missed</Badge>,
        ])}
      />
      <h3>Error-budget burn rate (last 6 h, 10-minute steps; dashed line = 2.0)</h3>
      <Table
        head={['SLO', 'trend', '5 m', '30 m', '1 h', '6 h', 'SRE alert']}
        empty="No SLO has traffic in the last 6 hours."
        rows={(slos?.burn ?? []).map((r) => [
          <code>{r.operation}</code>,
          <Sparkline
            values={Array.from({ length: 36 }, (_, i) => series.get(r.operation)?.[i] ?? null)}
            threshold={2}
            label={`burn rate of ${r.operation}, last 6 hours`}
          />,
          fmtNum(r.burn_rate_5m),
          fmtNum(r.burn_rate_30m),
          Number(r.burn_rate_1h) > 2 ? <Badge kind="bad">{fmtNum(r.burn_rate_1h)}</Badge> : fmtNum(r.burn_rate_1h),
          fmtNum(r.burn_rate_6h),
          r.page_alert ? <Badge kind="bad">page</Badge> : r.ticket_alert ? <Badge kind="warn">ticket</Badge> : <span class="muted">—</span>,
        ])}
      />
    </section>
  );
};
