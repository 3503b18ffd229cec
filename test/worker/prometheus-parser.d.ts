// parse-prometheus-text-format ships no types: the shape it returns (its README), as the admin
// metrics test reads it.
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
