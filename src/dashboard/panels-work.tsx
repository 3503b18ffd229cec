/** @jsxImportSource hono/jsx */
// The dashboard's work panels: queues, dead letters, policy health, flags and the ledger.
// (Safe mode, alerts and SLOs are in panels.tsx.)
import type { FC } from 'hono/jsx';
import { fmtMs, fmtNum, fmtPct, fmtTime, json } from './format';
import { Badge, type PageProps, PanelError, Table } from './parts';

/** Impressions the isolates dropped before the EVENTS queue (gauge of the last 10 minutes; alert learning_impressions_dropped). */
const ImpressionsDropped: FC<PageProps> = ({ data }) => {
  if (!data.queues) return null;
  const g = data.queues.gauges.find((x) => x.metric === 'learning.impressions_dropped');
  return (
    <p data-impressions-dropped={g ? String(g.value) : 'unknown'}>
      Learning impressions dropped at the edge (last 10 min, all isolates):{' '}
      {!g ? (
        <span class="muted">not measured in the last 10 minutes (sampler)</span>
      ) : g.value > 0 ? (
        <Badge kind="bad">{g.value} dropped</Badge>
      ) : (
        <Badge kind="ok">none</Badge>
      )}
      {g && <span class="muted"> · as of {fmtTime(g.minute)}</span>}
    </p>
  );
};

export const QueuesPanel: FC<PageProps> = (props) => {
  const { data } = props;
  const lag = (data.slos?.kernel ?? []).filter((r) => String(r.operation).startsWith('queue.'));
  return (
    <section data-panel="queues">
      <h2>Queues</h2>
      <PanelError errors={data.errors} panel="queues" />
      <ImpressionsDropped {...props} />
      <h3>Discovery jobs (vw_discovery_queue_health)</h3>
      <Table
        head={['status', 'count', 'p95 age', 'oldest']}
        empty="No discovery jobs."
        rows={(data.queues?.discovery ?? []).map((r) => [
          r.status,
          r.count,
          r.status === 'queued' && Number(r.p95_age_sec) > 300 ? <Badge kind="bad">{r.p95_age_sec} s</Badge> : `${r.p95_age_sec ?? '—'} s`,
          `${r.oldest_age_sec ?? '—'} s`,
        ])}
      />
      <h3>Outbox (vw_events_queue_health)</h3>
      <Table
        head={['topic', 'status', 'count', 'p95 age']}
        empty="Outbox empty."
        rows={(data.queues?.events ?? []).map((r) => [r.topic, r.status, r.count, `${r.p95_age_sec ?? '—'} s`])}
      />
      <h3>Queue lag, enqueue → consumer (last hour)</h3>
      <Table
        head={['queue', 'messages', 'p50', 'p95', 'p99']}
        empty="No messages consumed in the last hour."
        rows={lag.map((r) => [<code>{r.operation}</code>, r.requests, fmtMs(r.p50_ms), fmtMs(r.p95_ms), fmtMs(r.p99_ms)])}
      />
    </section>
  );
};

export const DlqPanel: FC<PageProps> = ({ data, csrf, session, redrive }) => {
  const total = (data.dlq?.bySource ?? []).reduce((n: number, r) => n + Number(r.count), 0);
  return (
    <section data-panel="dlq">
      <h2>Dead letters {total === 0 ? <Badge kind="ok">empty</Badge> : <Badge kind="bad">{total}</Badge>}</h2>
      <PanelError errors={data.errors} panel="dlq" />
      <Table
        head={['source', 'count', 'newest']}
        empty="Nothing dead."
        rows={(data.dlq?.bySource ?? []).map((r) => [r.source, r.count, fmtTime(r.newest)])}
      />
      {(data.dlq?.latest.length ?? 0) > 0 && (
        <>
          <h3>Latest</h3>
          <Table
            head={['source', 'id', 'topic', 'attempts', 'error', 'dead since']}
            empty=""
            rows={data.dlq!.latest.map((r) => [
              r.source,
              <code>{r.id}</code>,
              r.topic,
              r.attempts,
              <span title={r.last_error ?? undefined}>{String(r.last_error ?? '').slice(0, 60)}</span>,
              fmtTime(r.dead_since),
            ])}
          />
        </>
      )}
      {total > 0 && redrive.available && session && (
        <form class="action" method="post" action="/admin/dashboard/dlq/redrive">
          <input type="hidden" name="csrf" value={csrf} />
          <input type="text" name="reason" required maxlength={500} placeholder="Reason (goes to the ledger)" aria-label="Redrive reason" />
          <label class="confirm">
            <input type="checkbox" name="confirm" value="yes" required />
            <span>I confirm: redrive all {total} dead letters</span>
          </label>
          <button type="submit" data-action="redrive">
            Redrive all
          </button>
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

export const PolicyPanel: FC<PageProps> = ({ data }) => {
  const recent = new Map((data.policies?.recent ?? []).map((r) => [r.policy, r]));
  return (
    <section data-panel="policies">
      <h2>Policy health</h2>
      <PanelError errors={data.errors} panel="policies" />
      <p class="muted">Deviation = |exploration of the last 15 min − effective ε| / ε (the alert's measure; ε is 0 in safe mode).</p>
      <Table
        head={['policy', 'decisions', 'exploration', 'ε', 'last 15 min', 'deviation', 'mean reward', 'last event']}
        empty="No learning events yet."
        rows={(data.policies?.rows ?? []).map((r) => {
          const eps = r.epsilon === null || r.epsilon === undefined ? null : Number(r.epsilon);
          const last = recent.get(r.policy);
          const liveEps = last?.epsilon === null || last?.epsilon === undefined ? null : Number(last.epsilon);
          const dev = last && liveEps && liveEps > 0 ? Math.abs(Number(last.exploration_rate) - liveEps) / liveEps : null;
          return [
            <code>{r.policy}</code>,
            r.decisions ?? '—',
            fmtPct(r.exploration_rate),
            eps === null ? <span class="muted">not live</span> : fmtNum(eps, 3),
            last ? `${fmtPct(last.exploration_rate)} of ${last.samples}` : '—',
            dev === null ? (
              liveEps === 0 ? (
                <span class="muted">safe mode</span>
              ) : (
                '—'
              )
            ) : dev > 0.5 ? (
              <Badge kind="bad">{fmtPct(dev, 0)}</Badge>
            ) : (
              <Badge kind="ok">{fmtPct(dev, 0)}</Badge>
            ),
            fmtNum(r.mean_reward, 3),
            fmtTime(r.last_event_at),
          ];
        })}
      />
    </section>
  );
};

export const FlagsPanel: FC<PageProps> = ({ data }) => (
  <section data-panel="flags">
    <h2>Flags</h2>
    <PanelError errors={data.errors} panel="flags" />
    <Table
      head={['key', 'value', 'updated', 'by']}
      empty="No flags."
      rows={(data.flags ?? []).map((f) => [
        <code>{f.key}</code>,
        <span>
          <code>{json(f.value)}</code>
          {f.rolloutPercent !== undefined && (
            <>
              {' '}
              <Badge kind="warn">rollout {f.rolloutPercent} %</Badge>
            </>
          )}
        </span>,
        fmtTime(f.updatedAt),
        f.updatedBy ?? '—',
      ])}
    />
  </section>
);

export const LedgerPanel: FC<PageProps> = ({ data }) => (
  <section class="wide" data-panel="ledger">
    <h2>Latest actions (ai_action_ledger)</h2>
    <PanelError errors={data.errors} panel="ledger" />
    <Table
      head={['when', 'actor', 'action', 'target', 'new value', 'reason']}
      empty="No actions recorded."
      rows={(data.ledger ?? []).map((r) => [
        fmtTime(r.timestamp),
        r.actor,
        r.action,
        r.target ?? '—',
        <code>{json(r.new_value)}</code>,
        r.reason ?? '',
      ])}
    />
  </section>
);
