-- The five flags of guide §1B with exactly the values it lists. DO NOTHING: a re-run never
-- overwrites a value an operator has changed since.
INSERT INTO public.feature_flags (key, value, description, updated_by) VALUES
  ('global.safe_mode',    '{"enabled": false}', 'Abort switch: no exploration, deterministic fallback slates, p_exp = 0', 'seed'),
  ('ranker.policy',       '{"version":"epsilon_greedy_v1","epsilon":0.08}', 'Ranking policy version and exploration rate', 'seed'),
  ('marketplace.suggest', '{"enabled": true}', 'Marketplace suggestions on/off', 'seed'),
  ('learning.enabled',    '{"enabled": true}', 'Learning-event logging on/off', 'seed'),
  ('crush_mode.enabled',  '{"enabled": false}', 'Client feature, passed through to evaluated flags', 'seed')
ON CONFLICT (key) DO NOTHING;
