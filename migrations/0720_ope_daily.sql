-- Off-policy evaluation from rollups (issue 12): the additive sufficient statistics of
-- src/ranker/ope.ts per (policy, surface, UTC day of the decision, target), kept by the */5 learning
-- rollup from the same ins_xid window it already uses, so GET /admin/policy/ope reads at most
-- days × surfaces × targets rows plus the not-yet-rolled tail — never learning_events as a whole.
-- Every statement is re-runnable.
--
-- The statistics of a decision are not additive over its items (ρ is a product over positions,
-- X_d² a square), and a reward can change an item long after its decision was rolled up. So a
-- decision is the unit: whenever a decision changes (a new item in the window, a reward changed
-- on one of its items), its contribution as rolled up before is subtracted and its contribution
-- now is added. "Before" is exactly reconstructible: its items below the old watermark, with each
-- reward minus the changes recorded since (learning_ope_reward_deltas, consumed by the rollup).

-- ---------------------------------------------------------------- reward changes
-- Written by trigger for every reward change on an event OPE can use; consumed (deleted) by the
-- rollup in the same statement that reads them, so they and the rewards they explain come from one
-- snapshot. The rollup's own learning_reward_deltas cannot serve: it is consumed by another
-- statement of the rollup, with another snapshot under READ COMMITTED.
CREATE TABLE IF NOT EXISTS public.learning_ope_reward_deltas (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id    bigint NOT NULL,
  decision_id uuid NOT NULL,
  d_reward    double precision NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION public.learning_events_ope_reward_delta() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
  INSERT INTO public.learning_ope_reward_deltas (event_id, decision_id, d_reward)
  VALUES (NEW.id, NEW.decision_id, coalesce(NEW.reward, 0) - coalesce(OLD.reward, 0));
  RETURN NULL;
END
$$;

-- An inserted row needs no delta: it is new to the rollup with whatever reward it carries.
DROP TRIGGER IF EXISTS learning_events_ope_reward_update ON public.learning_events;
CREATE TRIGGER learning_events_ope_reward_update AFTER UPDATE OF reward ON public.learning_events
  FOR EACH ROW WHEN (OLD.reward IS DISTINCT FROM NEW.reward AND NEW.decision_id IS NOT NULL AND NEW.p_exp > 0
                     AND NEW.n_remaining IS NOT NULL AND NEW.is_greedy IS NOT NULL)
  EXECUTE FUNCTION public.learning_events_ope_reward_delta();

-- ---------------------------------------------------------------- per-day sums
-- Columns = OpeSums (src/ranker/ope.ts). r_*/q_* are ranges (only ever widened).
CREATE TABLE IF NOT EXISTS public.learning_ope_daily (
  policy     text NOT NULL,
  surface    text NOT NULL,
  day        date NOT NULL,
  target     text NOT NULL,
  decisions  bigint NOT NULL DEFAULT 0,
  items      bigint NOT NULL DEFAULT 0,
  x          double precision NOT NULL DEFAULT 0,
  x2         double precision NOT NULL DEFAULT 0,
  xn         double precision NOT NULL DEFAULT 0,
  n2         double precision NOT NULL DEFAULT 0,
  w          double precision NOT NULL DEFAULT 0,
  w2         double precision NOT NULL DEFAULT 0,
  xw         double precision NOT NULL DEFAULT 0,
  wn         double precision NOT NULL DEFAULT 0,
  y          double precision NOT NULL DEFAULT 0,
  y2         double precision NOT NULL DEFAULT 0,
  yn         double precision NOT NULL DEFAULT 0,
  wp         double precision NOT NULL DEFAULT 0,
  rho        double precision NOT NULL DEFAULT 0,
  rho_prev   double precision NOT NULL DEFAULT 0,
  clipped    bigint NOT NULL DEFAULT 0,
  r_min      double precision,
  r_max      double precision,
  q_min      double precision,
  q_max      double precision,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (policy, day, surface, target)
);
CREATE INDEX IF NOT EXISTS learning_ope_daily_day_idx ON public.learning_ope_daily (day);

-- ---------------------------------------------------------------- the targets
-- OPE_TARGETS of src/ranker/ope.ts (a test checks both agree). Numbered: the sums sort and group by
-- the number, not by the name (text comparisons under the database collation cost more than the
-- arithmetic).
CREATE OR REPLACE FUNCTION public.learning_ope_targets() RETURNS TABLE (tid integer, name text, eps double precision)
LANGUAGE sql IMMUTABLE
AS $$
  VALUES (1, 'greedy', 0::float8), (2, 'logged', NULL), (3, 'epsilon=0.05', 0.05), (4, 'epsilon=0.1', 0.1),
         (5, 'epsilon=0.2', 0.2), (6, 'epsilon=0.5', 0.5), (7, 'uniform', 1)
$$;

-- ---------------------------------------------------------------- the change of the sums
-- Per (policy, surface, day, target): Σ over changed decisions of (contribution now − contribution
-- as rolled up before). A decision changed if one of its events was inserted in [p_from, p_to)
-- (p_to NULL: no upper bound — the route's unrolled tail) or a reward of its items changed since
-- the last rollup. Now = its items below p_to with their current rewards; before = its items below
-- p_from with their rewards minus the pending deltas. Mirrors addDecision() (src/ranker/ope.ts):
--   w = π_t(a|R)/p_exp, π_t = (1−ε)[greedy] + ε/|R| (the logging policy: w = 1)
--   ρ_k = exp(Σ_{j≤k} ln w_j) (0 once some w_j = 0); ρc = min(ρ, clip); unclipped capped at 1e12
--   DM_k = (1−ε)·q_greedy + ε·q_mean with ε = ε_t (the logging policy: ε recovered from p_exp)
-- The targets are learning_ope_targets(); STABLE, so a caller that also deletes the deltas in the same
-- statement sees the deltas it deletes and nothing newer.
CREATE OR REPLACE FUNCTION public.learning_ope_changes(
  p_from xid8, p_to xid8, p_clip double precision, p_policy text DEFAULT NULL, p_surface text DEFAULT NULL
) RETURNS TABLE (
  policy text, surface text, day date, target text, decisions double precision, items double precision,
  x double precision, x2 double precision, xn double precision, n2 double precision,
  w double precision, w2 double precision, xw double precision, wn double precision,
  y double precision, y2 double precision, yn double precision,
  wp double precision, rho double precision, rho_prev double precision, clipped double precision,
  r_min double precision, r_max double precision, q_min double precision, q_max double precision
)
LANGUAGE sql STABLE
AS $$
WITH pending AS (
  SELECT d.event_id, sum(d.d_reward) AS d_reward FROM public.learning_ope_reward_deltas d GROUP BY d.event_id
), touched AS (
  SELECT le.decision_id FROM public.learning_events le
  WHERE le.ins_xid >= p_from AND (p_to IS NULL OR le.ins_xid < p_to) AND le.decision_id IS NOT NULL
  UNION
  SELECT d.decision_id FROM public.learning_ope_reward_deltas d
), items AS (
  SELECT le.decision_id, le.policy, le.surface, le.ts, le."position", le.p_exp, le.is_greedy, le.n_remaining,
         coalesce(le.reward, 0) AS r_now, coalesce(le.reward, 0) - coalesce(p.d_reward, 0) AS r_before,
         coalesce(le.score, 0) AS q, coalesce(le.q_greedy, 0) AS q_greedy, coalesce(le.q_mean, 0) AS q_mean,
         (p_to IS NULL OR le.ins_xid < p_to) AS is_now, le.ins_xid < p_from AS was
  FROM touched t
  -- One index lookup per touched decision, whatever the planner guesses about touched (a fresh
  -- deltas table or a watermark it cannot see would otherwise invite a hash join over the table).
  CROSS JOIN LATERAL (
    SELECT e.* FROM public.learning_events e
    WHERE e.decision_id = t.decision_id AND e.p_exp > 0 AND e.n_remaining IS NOT NULL AND e.is_greedy IS NOT NULL
      AND (p_policy IS NULL OR e.policy = p_policy) AND (p_surface IS NULL OR e.surface = p_surface)
    OFFSET 0
  ) le
  LEFT JOIN pending p ON p.event_id = le.id
), states AS (
  SELECT 1 AS sign, i.decision_id, i.policy, i.surface, i.ts, i."position", i.p_exp, i.is_greedy, i.n_remaining,
         i.r_now AS r, i.q, i.q_greedy, i.q_mean
  FROM items i WHERE i.is_now
  UNION ALL
  SELECT -1, i.decision_id, i.policy, i.surface, i.ts, i."position", i.p_exp, i.is_greedy, i.n_remaining,
         i.r_before, i.q, i.q_greedy, i.q_mean
  FROM items i WHERE i.was
), weighted AS (
  SELECT s.sign, s.decision_id, s.policy, s.surface, s.ts, s."position", s.r, s.q, s.q_greedy, s.q_mean, t.tid,
         CASE WHEN t.eps IS NULL THEN 1::float8
              ELSE ((1 - t.eps) * s.is_greedy::int + t.eps / s.n_remaining) / s.p_exp END AS w,
         coalesce(t.eps, CASE WHEN s.n_remaining <= 1 THEN 0
                              WHEN s.is_greedy THEN (1 - s.p_exp) * s.n_remaining / (s.n_remaining - 1)
                              ELSE s.p_exp * s.n_remaining END) AS dm_eps
  FROM states s
  CROSS JOIN public.learning_ope_targets() t
), cum AS (
  -- One window pass: ln ρ_k = Σ_{j≤k} ln w_j; ρ_{k−1} from the same row (ln ρ_k − ln w_k, and
  -- whether a zero factor came before this one).
  SELECT c.sign, c.decision_id, c.policy, c.surface, c.ts, c.tid, c.r, c.q, c.q_greedy, c.q_mean, c.w,
         (1 - c.dm_eps) * c.q_greedy + c.dm_eps * c.q_mean AS dm,
         sum((c.w = 0)::int) OVER upto AS zeros, coalesce(sum(ln(nullif(c.w, 0))) OVER upto, 0) AS lr
  FROM weighted c
  WINDOW upto AS (PARTITION BY c.sign, c.tid, c.decision_id ORDER BY c."position" ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), rho AS (
  SELECT k.*, k.zeros > 0 AS zero,
         CASE WHEN k.zeros > 0 THEN 0 ELSE exp(least(k.lr, ln(p_clip))) END AS rc,
         CASE WHEN k.zeros > 0 THEN 0 ELSE exp(least(k.lr, ln(1e12::float8))) END AS ru,
         CASE WHEN k.zeros - (k.w = 0)::int > 0 THEN 0 ELSE exp(least(k.lr - coalesce(ln(nullif(k.w, 0)), 0), ln(p_clip))) END AS rpc,
         CASE WHEN k.zeros - (k.w = 0)::int > 0 THEN 0 ELSE exp(least(k.lr - coalesce(ln(nullif(k.w, 0)), 0), ln(1e12::float8))) END AS rpu
  FROM cum k
), dec AS (
  SELECT g.sign, g.tid, g.decision_id, min(g.policy) AS policy, min(g.surface) AS surface,
         (min(g.ts) AT TIME ZONE 'UTC')::date AS day, count(*)::float8 AS n,
         sum(g.rc * g.r) AS x, sum(g.rc) AS w, sum(g.rpc * g.dm + g.rc * (g.r - g.q)) AS y,
         sum(g.rpc) AS wp, sum(g.ru) AS rho, sum(g.rpu) AS rho_prev,
         count(*) FILTER (WHERE NOT g.zero AND g.lr > ln(p_clip))::float8 AS clipped,
         min(g.r) AS r_min, max(g.r) AS r_max,
         min(least(g.q, g.q_greedy, g.q_mean)) AS q_min, max(greatest(g.q, g.q_greedy, g.q_mean)) AS q_max
  FROM rho g GROUP BY g.sign, g.tid, g.decision_id
)
SELECT d.policy, d.surface, d.day, (SELECT t.name FROM public.learning_ope_targets() t WHERE t.tid = d.tid),
       sum(d.sign)::float8, sum(d.sign * d.n), sum(d.sign * d.x), sum(d.sign * d.x * d.x), sum(d.sign * d.x * d.n),
       sum(d.sign * d.n * d.n), sum(d.sign * d.w), sum(d.sign * d.w * d.w), sum(d.sign * d.x * d.w), sum(d.sign * d.w * d.n),
       sum(d.sign * d.y), sum(d.sign * d.y * d.y), sum(d.sign * d.y * d.n),
       sum(d.sign * d.wp), sum(d.sign * d.rho), sum(d.sign * d.rho_prev), sum(d.sign * d.clipped),
       min(d.r_min) FILTER (WHERE d.sign = 1), max(d.r_max) FILTER (WHERE d.sign = 1),
       min(d.q_min) FILTER (WHERE d.sign = 1), max(d.q_max) FILTER (WHERE d.sign = 1)
FROM dec d
GROUP BY d.policy, d.surface, d.day, d.tid
$$;

-- The backfill of what the rollup has already consumed is migration 0721: a separate transaction,
-- so this one (whose CREATE TRIGGER blocks writes to learning_events until it commits) stays short.

-- ---------------------------------------------------------------- privileges
GRANT ALL ON public.learning_ope_daily, public.learning_ope_reward_deltas TO service_role;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO service_role;
REVOKE EXECUTE ON FUNCTION public.learning_events_ope_reward_delta() FROM PUBLIC;
