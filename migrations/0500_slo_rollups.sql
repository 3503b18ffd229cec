-- SLO measurement from rollups: metric ingestion ledger, per-minute gauges, histogram functions
-- shared with src/observability/histogram.ts, and the SLO views as functions of "now" (so alert
-- evaluation and tests can ask "as of" any minute; the views are those functions at now()).
-- Every statement is re-runnable.

-- ---------------------------------------------------------------- histogram functions
-- upper(i) = 2^floor(i/4) × F[i mod 4]. Exact powers of two times four fixed doubles give the same
-- bits in Postgres and V8 (power(2, i/4.0) differs from JS's 2 ** (i/4) by one ulp for most i).
CREATE OR REPLACE FUNCTION public.histogram_bucket_upper_ms(p_index integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT power(2::double precision, (p_index / 4)::double precision)
         * ('{1,1.189207115002721,1.4142135623730951,1.6817928305074292}'::double precision[])[p_index % 4 + 1]
$$;

-- Bucket of one observation (ms): 0 for < 1 ms, else the i with upper(i-1) <= ms < upper(i);
-- 96 buckets, the last one open. Used to build histograms in SQL (benchmarks, backfills).
CREATE OR REPLACE FUNCTION public.histogram_bucket_index(p_ms double precision) RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  v_last constant integer := 95;
  i integer;
BEGIN
  IF p_ms IS NULL OR p_ms = 'NaN'::double precision OR p_ms < 1 THEN
    RETURN 0;
  END IF;
  IF p_ms = 'Infinity'::double precision THEN
    RETURN v_last;
  END IF;
  i := least(greatest(floor(4 * ln(p_ms) / ln(2::double precision))::integer + 1, 1), v_last);
  WHILE i > 1 AND p_ms < public.histogram_bucket_upper_ms(i - 1) LOOP
    i := i - 1;
  END LOOP;
  WHILE i < v_last AND p_ms >= public.histogram_bucket_upper_ms(i) LOOP
    i := i + 1;
  END LOOP;
  RETURN i;
END
$$;

-- The q-quantile (0..1) of a histogram: find the bucket holding the nearest-rank observation and
-- interpolate linearly inside it (as Prometheus does), so the answer always lies in the bucket of
-- the exact value. Replaces 0003's version, which answered the bucket's upper bound: with ~19 %
-- wide buckets that read, e.g., a true p95 of 520 ms as 609 ms and tripped the 600 ms alert.
-- All arithmetic in double precision, in the same order as quantile() in histogram.ts.
CREATE OR REPLACE FUNCTION public.histogram_quantile(p_buckets bigint[], p_q double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  v_total double precision := 0;
  v_seen double precision := 0;
  v_rank double precision;
  v_c double precision;
  v_lower double precision;
  v_upper double precision;
  i integer;
BEGIN
  IF p_buckets IS NULL OR cardinality(p_buckets) = 0 THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(sum(b), 0)::double precision INTO v_total FROM unnest(p_buckets) AS b;
  IF v_total = 0 THEN
    RETURN NULL;
  END IF;
  v_rank := greatest(ceil(p_q * v_total), 1);
  FOR i IN 1 .. cardinality(p_buckets) LOOP
    v_c := coalesce(p_buckets[i], 0);
    IF v_c > 0 AND v_seen + v_c >= v_rank THEN
      v_lower := CASE WHEN i = 1 THEN 0 ELSE public.histogram_bucket_upper_ms(i - 2) END;
      IF i - 1 >= 95 THEN
        RETURN v_lower;  -- the open last bucket has no upper bound to interpolate to
      END IF;
      v_upper := public.histogram_bucket_upper_ms(i - 1);
      RETURN v_lower + (v_upper - v_lower) * ((v_rank - v_seen) / v_c);
    END IF;
    v_seen := v_seen + v_c;
  END LOOP;
  RETURN public.histogram_bucket_upper_ms(cardinality(p_buckets) - 1);
END
$$;

-- Element-wise sum, in plpgsql: the aggregate calls it once per row, and a loop over at most 96
-- elements is several times cheaper than the SQL version's generate_series + array_agg.
CREATE OR REPLACE FUNCTION public.histogram_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  n integer := greatest(coalesce(cardinality(a), 0), coalesce(cardinality(b), 0));
  out bigint[];
  i integer;
BEGIN
  IF coalesce(cardinality(b), 0) = 0 THEN RETURN coalesce(a, '{}'); END IF;
  IF coalesce(cardinality(a), 0) = 0 THEN RETURN b; END IF;
  out := array_fill(0::bigint, ARRAY[n]);
  FOR i IN 1 .. n LOOP
    out[i] := coalesce(a[i], 0) + coalesce(b[i], 0);
  END LOOP;
  RETURN out;
END
$$;

-- ---------------------------------------------------------------- ingestion ledger and gauges
-- One row per metrics.histogram message merged into request_metrics_minute. The merge inserts the
-- message id here and adds the histogram in the same statement, so a redelivered message (same id)
-- adds nothing. Rows are pruned after 8 days; older messages are refused by the consumer.
CREATE TABLE IF NOT EXISTS public.metrics_ingest_ledger (
  message_id   text PRIMARY KEY,
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS metrics_ingest_ledger_received_idx ON public.metrics_ingest_ledger (received_at);

-- Per-minute samples of levels (queue age, DLQ size, exploration rate…), written by the per-minute
-- sampler with upserts on the natural key (a re-run in the same minute overwrites, never adds).
CREATE TABLE IF NOT EXISTS public.gauge_metrics_minute (
  metric   text NOT NULL,
  subject  text NOT NULL DEFAULT '',
  minute   timestamptz NOT NULL,
  value    double precision NOT NULL,
  samples  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (metric, subject, minute)
);
CREATE INDEX IF NOT EXISTS gauge_metrics_minute_minute_idx ON public.gauge_metrics_minute (minute);

-- ---------------------------------------------------------------- SLOs as of a moment
-- Per operation over the hour ending at p_now's minute (60 one-minute rollups, the current one
-- included): requests, error rate, p50/p95/p99 from the merged histograms, target, met?
CREATE OR REPLACE FUNCTION public.kernel_slos_at(p_now timestamptz)
RETURNS TABLE (
  operation text, requests bigint, errors bigint, error_rate numeric,
  p50_ms double precision, p95_ms double precision, p99_ms double precision, mean_ms numeric,
  target_p95_ms double precision, availability_target double precision, met boolean
)
LANGUAGE sql STABLE
AS $$
  WITH w AS (
    SELECT r.operation, sum(r.requests)::bigint AS requests, sum(r.errors)::bigint AS errors,
           sum(r.latency_sum_ms) AS latency_sum_ms, public.histogram_sum(r.buckets) AS buckets
    FROM public.request_metrics_minute r
    WHERE r.minute >= date_trunc('minute', p_now) - interval '59 minutes'
      AND r.minute < date_trunc('minute', p_now) + interval '1 minute'
    GROUP BY r.operation
  ), q AS (
    SELECT w.*, public.histogram_quantile(w.buckets, 0.50) AS p50,
           public.histogram_quantile(w.buckets, 0.95) AS p95,
           public.histogram_quantile(w.buckets, 0.99) AS p99
    FROM w WHERE w.requests > 0
  )
  SELECT q.operation, q.requests, q.errors,
         round(q.errors::numeric / q.requests, 5),
         q.p50, q.p95, q.p99,
         round((q.latency_sum_ms / q.requests)::numeric, 2),
         t.latency_p95_ms, t.availability_target,
         CASE WHEN t.operation IS NULL THEN NULL
              ELSE q.p95 <= t.latency_p95_ms
                   AND (q.errors::double precision / q.requests) <= 1 - t.availability_target
         END
  FROM q
  LEFT JOIN public.slo_targets t ON t.operation = q.operation
$$;

-- Error-budget burn rate per SLO (error ratio / (1 - availability target)) over the 5 m, 30 m,
-- 1 h and 6 h windows ending at p_now's minute, and the SRE workbook's multi-window alerts:
-- page when 1 h AND 5 m burn > 14.4, ticket when 6 h AND 30 m burn > 6. burn_rate is the 1 h
-- window (the guide alerts when it exceeds 2.0). Reads at most 360 rollup rows per SLO.
CREATE OR REPLACE FUNCTION public.slo_burnrate_at(p_now timestamptz)
RETURNS TABLE (
  operation text, availability_target double precision, requests_1h bigint, errors_1h bigint,
  burn_rate numeric, burn_rate_5m numeric, burn_rate_30m numeric, burn_rate_1h numeric, burn_rate_6h numeric,
  page_alert boolean, ticket_alert boolean
)
LANGUAGE sql STABLE
AS $$
  WITH bounds AS (
    SELECT date_trunc('minute', p_now) AS m
  ), w AS (
    SELECT t.operation, t.availability_target,
           sum(r.requests) FILTER (WHERE r.minute > b.m - interval '5 minutes')  AS req_5m,
           sum(r.errors)   FILTER (WHERE r.minute > b.m - interval '5 minutes')  AS err_5m,
           sum(r.requests) FILTER (WHERE r.minute > b.m - interval '30 minutes') AS req_30m,
           sum(r.errors)   FILTER (WHERE r.minute > b.m - interval '30 minutes') AS err_30m,
           sum(r.requests) FILTER (WHERE r.minute > b.m - interval '60 minutes') AS req_1h,
           sum(r.errors)   FILTER (WHERE r.minute > b.m - interval '60 minutes') AS err_1h,
           sum(r.requests) AS req_6h,
           sum(r.errors)   AS err_6h
    FROM public.slo_targets t
    CROSS JOIN bounds b
    JOIN public.request_metrics_minute r
      ON r.operation = t.operation
     AND r.minute > b.m - interval '360 minutes' AND r.minute <= b.m
    GROUP BY t.operation, t.availability_target
  ), br AS (
    SELECT w.operation, w.availability_target, w.req_1h, w.err_1h,
           round((coalesce(w.err_5m, 0)  / nullif(w.req_5m, 0)  / (1 - w.availability_target))::numeric, 3) AS b5,
           round((coalesce(w.err_30m, 0) / nullif(w.req_30m, 0) / (1 - w.availability_target))::numeric, 3) AS b30,
           round((coalesce(w.err_1h, 0)  / nullif(w.req_1h, 0)  / (1 - w.availability_target))::numeric, 3) AS b60,
           round((coalesce(w.err_6h, 0)  / nullif(w.req_6h, 0)  / (1 - w.availability_target))::numeric, 3) AS b360
    FROM w
  )
  SELECT br.operation, br.availability_target, coalesce(br.req_1h, 0)::bigint, coalesce(br.err_1h, 0)::bigint,
         br.b60, br.b5, br.b30, br.b60, br.b360,
         coalesce(br.b60 > 14.4 AND br.b5 > 14.4, false),
         coalesce(br.b360 > 6 AND br.b30 > 6, false)
  FROM br
$$;

-- Burn rate per SLO in consecutive steps ending at p_now's minute (the dashboard's sparklines):
-- p_points steps of p_step_minutes each; steps without traffic have burn_rate NULL.
CREATE OR REPLACE FUNCTION public.slo_burnrate_series(p_now timestamptz, p_step_minutes integer DEFAULT 10, p_points integer DEFAULT 36)
RETURNS TABLE (operation text, step integer, step_start timestamptz, requests bigint, errors bigint, burn_rate numeric)
LANGUAGE sql STABLE
AS $$
  WITH b AS (
    SELECT date_trunc('minute', p_now) - make_interval(mins => p_step_minutes * p_points - 1) AS first_minute
  ), agg AS (
    SELECT r.operation,
           (extract(epoch FROM r.minute - b.first_minute)::integer / 60) / p_step_minutes AS step,
           sum(r.requests)::bigint AS requests, sum(r.errors)::bigint AS errors
    FROM public.request_metrics_minute r CROSS JOIN b
    WHERE r.operation IN (SELECT s.operation FROM public.slo_targets s)
      AND r.minute >= b.first_minute AND r.minute < date_trunc('minute', p_now) + interval '1 minute'
    GROUP BY 1, 2
  )
  SELECT t.operation, g.step, b.first_minute + make_interval(mins => g.step * p_step_minutes),
         coalesce(a.requests, 0), coalesce(a.errors, 0),
         round((a.errors::numeric / nullif(a.requests, 0) / (1 - t.availability_target)::numeric), 3)
  FROM public.slo_targets t
  CROSS JOIN b
  CROSS JOIN generate_series(0, p_points - 1) AS g(step)
  LEFT JOIN agg a ON a.operation = t.operation AND a.step = g.step
  WHERE EXISTS (SELECT 1 FROM agg x WHERE x.operation = t.operation)
  ORDER BY 1, 2
$$;

-- The guide's views: the functions above at now(). Columns of the first versions are kept
-- (vw_kernel_slos gains mean_ms; vw_slo_burnrate gains errors_1h).
DROP VIEW IF EXISTS public.vw_kernel_slos;
CREATE VIEW public.vw_kernel_slos AS
SELECT * FROM public.kernel_slos_at(now());

DROP VIEW IF EXISTS public.vw_slo_burnrate;
CREATE VIEW public.vw_slo_burnrate AS
SELECT * FROM public.slo_burnrate_at(now());

-- Latest sample of every gauge seen in the last 10 minutes (queue lag, DLQ size, exploration…).
DROP VIEW IF EXISTS public.vw_metric_gauges;
CREATE VIEW public.vw_metric_gauges AS
SELECT DISTINCT ON (g.metric, g.subject) g.metric, g.subject, g.value, g.samples, g.minute
FROM public.gauge_metrics_minute g
WHERE g.minute >= date_trunc('minute', now()) - interval '10 minutes'
ORDER BY g.metric, g.subject, g.minute DESC;

GRANT ALL ON public.metrics_ingest_ledger, public.gauge_metrics_minute TO service_role;
