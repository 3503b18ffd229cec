-- Issue 20: the seeded rules' clear-for durations and the safe-mode action's scope. Only rules
-- nobody has tuned yet (updated_by IS NULL) are touched: an operator's change is never overwritten.
-- slo_burn_rate: safe mode changes only what the ranking path serves, so the action is limited to
-- its operations; an SLO breach elsewhere (GET /v1/flags, …) pages without touching safe mode.
UPDATE public.alert_rules
SET action_subjects = ARRAY['POST /v1/rank', 'POST /functions/v1/policy-ranker'],
    clear_for_seconds = 900
WHERE id = 'slo_burn_rate' AND updated_by IS NULL AND action_subjects IS NULL;
