// The OpenMetrics writer of GET /admin/metrics (src/observability/exposition.ts) on edge cases the
// worker test's traffic does not produce: label values that need escaping, empty inputs, buckets
// past the largest exposed bound. Read back with the same npm parser as test/worker/admin-metrics.
import parse from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { exposition } from '../../src/observability/exposition';

const empty = { histograms: [], burnRates: [], queues: [], flags: [] };

describe('exposition', () => {
  it('with nothing measured: every family declared, safe mode 0, the DLQ sizes 0, # EOF last', () => {
    const text = exposition(empty);
    expect(text.endsWith('# EOF\n')).toBe(true);
    const families = new Map(parse(text).map((f) => [f.name, f]));
    expect(families.get('edge_safe_mode')?.metrics).toEqual([{ value: '0' }]);
    expect(families.get('edge_dlq_size')?.metrics).toEqual([
      { labels: { source: 'discovery' }, value: '0' },
      { labels: { source: 'events' }, value: '0' },
    ]);
    expect(families.get('edge_request_duration_seconds')?.metrics).toEqual([]);
  });

  it('escapes label values (quote, backslash, newline) so they read back unchanged', () => {
    const operation = 'GET /a"b\\c\nd';
    const text = exposition({ ...empty, histograms: [{ operation, requests: 1, errors: 1, latency_sum_ms: 5, buckets: [0, 1] }] });
    const errors = parse(text).find((f) => f.name === 'edge_request_errors');
    expect(errors?.metrics).toEqual([{ labels: { operation }, value: '1' }]);
    expect(text.split('\n').filter((l) => l.startsWith('edge_request_errors{'))).toHaveLength(1); // no raw newline
  });

  it('buckets are cumulative; requests slower than the largest bound count only in +Inf; _count equals +Inf', () => {
    const buckets = Array.from({ length: 96 }, () => 0);
    buckets[0] = 2; // < 1 ms
    buckets[95] = 3; // ≈ 3.9 h
    const text = exposition({ ...empty, histograms: [{ operation: 'op', requests: 5, errors: 0, latency_sum_ms: 10, buckets }] });
    const hist = parse(text).find((f) => f.name === 'edge_request_duration_seconds')!;
    expect(hist.type).toBe('HISTOGRAM');
    const b = hist.metrics[0]!.buckets!;
    expect(b['0.001']).toBe('2');
    expect(b['65.536']).toBe('2');
    expect(b['+Inf']).toBe('5');
    expect(text).toContain('edge_request_duration_seconds_count{operation="op"} 5\n');
    expect(text).toContain('edge_request_duration_seconds_sum{operation="op"} 0.01\n');
  });
});
