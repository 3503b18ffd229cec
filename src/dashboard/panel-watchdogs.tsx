// The Watchdogs panel (issue 20): is the telemetry itself alive? Metric freshness, each cron job's
// last success against what it may miss, the DLQ size, and the alert rules that are blind (no data
// for their no_data_seconds: their alerts stay as they were, and metrics_stale pages).
import type { FC } from 'hono/jsx';
import { fmtAge, fmtNum } from './format';
import { Badge, type PageProps, PanelError, Table } from './parts';

export const WatchdogsPanel: FC<PageProps> = ({ data }) => {
  const now = new Date(data.generatedAt);
  const w = data.watchdogs;
  const overdue = (w?.heartbeats ?? []).filter((h) => h.age_sec > h.allowed_sec);
  const stale = (w?.freshness ?? []).filter((f) => (f.value ?? 0) > 900);
  const dead = (w?.dlq ?? []).reduce((n, d) => n + (d.value ?? 0), 0);
  const bad = overdue.length + stale.length + (w?.blind.length ?? 0);
  return (
    <section data-panel="watchdogs" data-overdue-jobs={overdue.map((h) => h.job).join(',')} data-blind-rules={(w?.blind ?? []).join(',')}>
      <h2>
        Watchdogs {w && (bad > 0 ? <Badge kind="bad">{bad} failing</Badge> : <Badge kind="ok">telemetry alive</Badge>)}{' '}
        {w && dead > 0 && <Badge kind="warn">{dead} dead letters</Badge>}
      </h2>
      <PanelError errors={data.errors} panel="watchdogs" />
      {w && (
        <>
          <Table
            head={['metrics', 'newest row', 'status']}
            empty="No metrics at all: the EVENTS pipeline and the sampler have never written (metrics_fresh: no data)."
            rows={w.freshness.map((f) => [
              f.subject,
              `${fmtNum(f.value, 0)} s ago`,
              (f.value ?? 0) > 900 ? <Badge kind="bad">stale</Badge> : <Badge kind="ok">fresh</Badge>,
            ])}
          />
          <Table
            head={['cron job', 'last success', 'may miss', 'status']}
            empty="No cron runs recorded in public.job_runs (cron_heartbeat: no data)."
            rows={w.heartbeats.map((h) => [
              h.job,
              h.last_ok ? fmtAge(h.last_ok, now) : 'never',
              `${fmtNum(h.allowed_sec, 0)} s`,
              h.age_sec > h.allowed_sec ? <Badge kind="bad">overdue</Badge> : <Badge kind="ok">ok</Badge>,
            ])}
          />
          <Table
            head={['dead letters', 'count']}
            empty="No recent dlq.size sample (the sampler is not running)."
            rows={w.dlq.map((d) => [d.subject, fmtNum(d.value, 0)])}
          />
          {w.blind.length > 0 && (
            <p>
              <Badge kind="bad">blind rules</Badge> {w.blind.join(', ')} — no data for their no_data_seconds; their alerts keep their state.
            </p>
          )}
        </>
      )}
    </section>
  );
};
