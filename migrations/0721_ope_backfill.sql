-- Backfill of learning_ope_daily (0720): everything the learning rollup has already consumed (events
-- below its watermark), so the OPE route has history from the first day. Its own transaction, after
-- 0720 committed: the reward-change trigger already records every change, and this long read takes
-- no lock that blocks the impression consumer (it only reads learning_events). The rollup's advisory
-- lock keeps the */5 rollup from moving the watermark or consuming OPE deltas meanwhile (a rollup
-- run waits 20 s for it, then fails and the next run catches up). Re-running adds nothing.
--
-- State written = each decision below the watermark with its rewards as of 0720's commit: rewards
-- changed since (pending in learning_ope_reward_deltas) are taken out again here — the next rollup
-- run adds them, as it adds every change.
SELECT pg_advisory_xact_lock(7245119200);

INSERT INTO public.learning_ope_daily (policy, surface, day, target, decisions, items, x, x2, xn, n2, w, w2, xw, wn,
                                       y, y2, yn, wp, rho, rho_prev, clipped, r_min, r_max, q_min, q_max)
SELECT u.policy, u.surface, u.day, u.target, sum(u.sign * u.decisions), sum(u.sign * u.items), sum(u.sign * u.x),
       sum(u.sign * u.x2), sum(u.sign * u.xn), sum(u.sign * u.n2), sum(u.sign * u.w), sum(u.sign * u.w2), sum(u.sign * u.xw),
       sum(u.sign * u.wn), sum(u.sign * u.y), sum(u.sign * u.y2), sum(u.sign * u.yn), sum(u.sign * u.wp), sum(u.sign * u.rho),
       sum(u.sign * u.rho_prev), sum(u.sign * u.clipped),
       min(u.r_min) FILTER (WHERE u.sign = 1), max(u.r_max) FILTER (WHERE u.sign = 1),
       min(u.q_min) FILTER (WHERE u.sign = 1), max(u.q_max) FILTER (WHERE u.sign = 1)
FROM (SELECT coalesce((SELECT s.watermark FROM public.learning_rollup_state s WHERE s.name = 'learning'), '0'::xid8) AS wm) st
CROSS JOIN LATERAL (
  -- every decision below the watermark, rewards as they are now …
  SELECT 1 AS sign, c.* FROM public.learning_ope_changes('0'::xid8, st.wm, 100) c
  UNION ALL
  -- … minus, for decisions with a reward changed since 0720, (now − as of 0720)
  SELECT -1, c.* FROM public.learning_ope_changes(st.wm, st.wm, 100) c
) u
WHERE NOT EXISTS (SELECT 1 FROM public.learning_ope_daily)
GROUP BY u.policy, u.surface, u.day, u.target
ON CONFLICT DO NOTHING;
