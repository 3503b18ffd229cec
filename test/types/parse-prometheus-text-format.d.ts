// parse-prometheus-text-format ships no types: the shape it returns (its README), as the tests of
// GET /admin/metrics read it (test/worker/admin-metrics, test/unit/exposition).
declare module 'parse-prometheus-text-format' {
  export interface ParsedSample {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface ParsedFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: ParsedSample[];
  }
  /** Throws InvalidLineError on a line that is not valid exposition text. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
