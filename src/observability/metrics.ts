// Where request timings go. The request context installs a collector per request; code that times
// a named kernel operation (e.g. the auth step, 'auth.login') reports it here too.
// The collector that aggregates histograms and ships them is built by the SLO work.
export interface MetricsCollector {
  /** One observation of an operation: its latency and whether it failed (5xx or equivalent). */
  observe(operation: string, durationMs: number, failed: boolean): void;
}

export const noopMetrics: MetricsCollector = { observe() {} };
