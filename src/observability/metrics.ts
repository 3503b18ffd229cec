// Where timings go. Every unit of work carries a collector (unit.metrics: the isolate's collector
// of src/observability/collector.ts on real traffic); code that times a named kernel operation
// (e.g. the auth step, 'auth.login') reports it there.
export interface MetricsCollector {
  /** One observation of an operation: its latency and whether it failed (5xx or equivalent). */
  observe(operation: string, durationMs: number, failed: boolean): void;
}

export const noopMetrics: MetricsCollector = { observe() {} };
