/** @jsxImportSource hono/jsx */
// A burn-rate sparkline as inline SVG (no script, no library): one polyline per run of points with
// traffic (gaps where a step had none), a dashed line at the alert threshold.
import type { FC } from 'hono/jsx';

export interface SparklineProps {
  values: (number | null)[];
  threshold: number;
  width?: number;
  height?: number;
  label: string;
}

export function sparklineSegments(values: (number | null)[], width: number, height: number, yMax: number): string[] {
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const segments: string[] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      if (current.length) segments.push(current.join(' '));
      current = [];
      return;
    }
    const y = height - (Math.min(v, yMax) / yMax) * (height - 2) - 1;
    current.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`);
  });
  if (current.length) segments.push(current.join(' '));
  return segments;
}

export const Sparkline: FC<SparklineProps> = ({ values, threshold, width = 144, height = 28, label }) => {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const yMax = Math.max(threshold * 1.5, ...finite, 0.001);
  const ty = height - (threshold / yMax) * (height - 2) - 1;
  const last = finite.at(-1);
  const hot = last !== undefined && last > threshold;
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      <line x1="0" y1={ty.toFixed(1)} x2={width} y2={ty.toFixed(1)} stroke="#b91c1c" stroke-dasharray="3 3" stroke-width="1" />
      {sparklineSegments(values, width, height, yMax).map((points) =>
        points.includes(' ') ? (
          <polyline points={points} fill="none" stroke={hot ? '#b91c1c' : '#1d4ed8'} stroke-width="1.5" />
        ) : (
          <circle cx={points.split(',')[0]} cy={points.split(',')[1]} r="1.5" fill={hot ? '#b91c1c' : '#1d4ed8'} />
        ),
      )}
    </svg>
  );
};
