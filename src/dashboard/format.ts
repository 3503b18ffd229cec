// How the dashboard prints values: milliseconds, percentages, numbers, UTC times, ages.
export const fmtMs = (v: unknown) =>
  v === null || v === undefined ? '—' : `${Number(v) < 10 ? Number(v).toFixed(1) : Math.round(Number(v))} ms`;
export const fmtPct = (v: unknown, digits = 2) => (v === null || v === undefined ? '—' : `${(Number(v) * 100).toFixed(digits)} %`);
export const fmtNum = (v: unknown, digits = 2) => (v === null || v === undefined ? '—' : Number(Number(v).toFixed(digits)).toString());
export function fmtTime(v: unknown): string {
  if (!v) return '—';
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : `${d.toISOString().replace('T', ' ').slice(0, 19)}Z`;
}
export function fmtAge(v: unknown, now: Date): string {
  if (!v) return '—';
  const s = Math.max(0, Math.round((now.getTime() - new Date(String(v instanceof Date ? v.toISOString() : v)).getTime()) / 1000));
  return s < 90 ? `${s}s ago` : s < 5400 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}
export const json = (v: unknown) => JSON.stringify(v);
