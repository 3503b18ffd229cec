-- Issue 14: when a subject's RateLimiter Durable Object (or the native binding for anonymous
-- callers) fails or does not answer in time, the per-isolate fallback limiter decides instead of
-- admitting everything, and every such decision is recorded under the operation
-- 'ratelimit.fallback' (requests = decisions, errors = refusals; src/ratelimit/fallback.ts).
-- This rule notices when that becomes more than a blip: over 1 % of all HTTP requests of the last
-- 5 minutes decided by the fallback, for 5 minutes, with at least 20 fallback decisions
-- (metric ratelimit.fallback_share, src/alerts/queries-metrics.ts). RUNBOOK §7 "Rate limits".
-- DO NOTHING: re-runnable, and an operator's tuning is never overwritten.
INSERT INTO public.alert_rules (id, description, metric, subject, comparator, threshold, for_seconds, min_samples, severity, action, runbook) VALUES
  ('ratelimit_fallback', 'Rate limiter degraded: > 1 % of requests (last 5 minutes) decided by the per-isolate fallback',
   'ratelimit.fallback_share', 'all', '>', 0.01, 300, 20, 'ticket', 'notify',
   'The exact limiter (RateLimiter Durable Objects or the ANON_RATE_LIMITER binding) fails or is slow: logs ratelimit.unavailable, Cloudflare status; limits still hold at a tenth per isolate (RUNBOOK §7 Rate limits)')
ON CONFLICT (id) DO NOTHING;
