/** @jsxImportSource hono/jsx */
// The dashboard's building blocks: the page's props, a table, a panel's error line, a badge.
import type { Child, FC } from 'hono/jsx';
import type { DashboardData, Panel } from './data';

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

export const Table: FC<{ head: string[]; rows: Child[][]; empty: string }> = ({ head, rows, empty }) =>
  rows.length === 0 ? (
    <p class="muted">{empty}</p>
  ) : (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            {head.map((h) => (
              <th>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr>
              {r.map((cell) => (
                <td>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );

export const PanelError: FC<{ errors: DashboardData['errors']; panel: Panel }> = ({ errors, panel }) =>
  errors[panel] ? (
    <p class="err" data-error={panel}>
      Could not load: {errors[panel]}
    </p>
  ) : null;

export const Badge: FC<{ kind: 'ok' | 'bad' | 'warn'; children: Child; big?: boolean }> = ({ kind, children, big }) => (
  <span class={`badge ${kind}${big ? ' big' : ''}`}>{children}</span>
);
