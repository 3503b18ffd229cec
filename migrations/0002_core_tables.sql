-- Every table the cutover guide names, with the columns it uses (names and types kept),
-- plus what this system needs beside them. Statements are re-runnable.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- ---------------------------------------------------------------- flags and config
CREATE TABLE IF NOT EXISTS public.feature_flags (
  key          text PRIMARY KEY,
  value        jsonb NOT NULL,
  description  text,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text
);

-- Retention per table, read by the gc_* functions and the nightly crons.
CREATE TABLE IF NOT EXISTS public.retention_policies (
  table_name   text PRIMARY KEY,
  retain       interval NOT NULL CHECK (retain > interval '0'),
  batch_size   integer NOT NULL DEFAULT 5000 CHECK (batch_size > 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- catalog
CREATE TABLE IF NOT EXISTS public.interest_catalog (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.marketplace_categories (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  -- Minimum number of active candidates before discovery records a supply gap.
  min_supply  integer NOT NULL DEFAULT 3 CHECK (min_supply >= 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.marketplace_interest_map (
  interest_id uuid NOT NULL REFERENCES public.interest_catalog(id) ON DELETE CASCADE,
  category_id uuid NOT NULL REFERENCES public.marketplace_categories(id) ON DELETE CASCADE,
  weight      real NOT NULL DEFAULT 1 CHECK (weight > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (interest_id, category_id)
);
CREATE INDEX IF NOT EXISTS marketplace_interest_map_category_idx
  ON public.marketplace_interest_map (category_id);

CREATE TABLE IF NOT EXISTS public.marketplace_candidates (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  category_id uuid NOT NULL REFERENCES public.marketplace_categories(id) ON DELETE CASCADE,
  title       text NOT NULL,
  url         text,
  score       double precision NOT NULL DEFAULT 0.5 CHECK (score >= 0),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS marketplace_candidates_category_idx
  ON public.marketplace_candidates (category_id, score DESC) WHERE active;

-- ---------------------------------------------------------------- user data (RLS)
CREATE TABLE IF NOT EXISTS public.user_interests (
  user_id     uuid NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  interest_id uuid NOT NULL REFERENCES public.interest_catalog(id) ON DELETE CASCADE,
  affinity    real NOT NULL CHECK (affinity >= 0 AND affinity <= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, interest_id)
);

CREATE TABLE IF NOT EXISTS public.intent_signals (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  interest_id uuid REFERENCES public.interest_catalog(id) ON DELETE SET NULL,
  kind        text NOT NULL,
  strength    real NOT NULL DEFAULT 1,
  context     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS intent_signals_user_idx ON public.intent_signals (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS intent_signals_created_idx ON public.intent_signals (created_at);

-- The durable ledger of discovery jobs. status 'error' is the dead-letter state.
CREATE TABLE IF NOT EXISTS public.marketplace_discovery_queue (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id          uuid REFERENCES auth.users(id) ON DELETE CASCADE,
  interest_id      uuid NOT NULL REFERENCES public.interest_catalog(id) ON DELETE CASCADE,
  topic            text NOT NULL DEFAULT 'discovery.user-signup',
  status           text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'done', 'error')),
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  lease_token      uuid,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  relayed_at       timestamptz,      -- last time the outbox relay handed it to the DISCOVERY queue
  processed_at     timestamptz,      -- set when status becomes 'done'
  dead_at          timestamptz       -- set when status becomes 'error'
);
-- One live (queued or processing) job per user and interest.
CREATE UNIQUE INDEX IF NOT EXISTS marketplace_discovery_queue_live_uniq
  ON public.marketplace_discovery_queue (user_id, interest_id)
  WHERE status IN ('queued', 'processing');
CREATE INDEX IF NOT EXISTS marketplace_discovery_queue_status_idx
  ON public.marketplace_discovery_queue (status, topic, created_at);
CREATE INDEX IF NOT EXISTS marketplace_discovery_queue_lease_idx
  ON public.marketplace_discovery_queue (lease_expires_at) WHERE status = 'processing';

-- Transactional outbox: SQL functions write here in the same transaction as their change;
-- the relay cron moves rows to Cloudflare Queues.
CREATE TABLE IF NOT EXISTS public.events_queue (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic            text NOT NULL,
  payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
  status           text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'done', 'error')),
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  lease_token      uuid,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  relayed_at       timestamptz,
  processed_at     timestamptz,
  dead_at          timestamptz
);
CREATE INDEX IF NOT EXISTS events_queue_status_idx ON public.events_queue (status, topic, created_at);

-- One row per slate item served (and per direct heartbeat insert, guide §2H).
CREATE TABLE IF NOT EXISTS public.learning_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ts           timestamptz NOT NULL DEFAULT now(),
  user_id      uuid,
  surface      text NOT NULL,
  candidate_id text NOT NULL,
  policy       text NOT NULL,
  p_exp        double precision NOT NULL DEFAULT 0 CHECK (p_exp >= 0 AND p_exp <= 1),
  score        double precision,
  explored     boolean NOT NULL DEFAULT false,
  reward       double precision,
  context      jsonb NOT NULL DEFAULT '{}'::jsonb,
  decision_id  uuid,
  position     integer CHECK (position >= 0)
);
-- Natural key of a served item: redelivered queue batches add nothing.
CREATE UNIQUE INDEX IF NOT EXISTS learning_events_decision_item_uniq
  ON public.learning_events (decision_id, candidate_id) WHERE decision_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS learning_events_ts_idx ON public.learning_events (ts);
CREATE INDEX IF NOT EXISTS learning_events_user_idx ON public.learning_events (user_id, ts DESC);

-- Rate limits per route class, with optional per-user overrides (user_id set).
CREATE TABLE IF NOT EXISTS public.rate_limits (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  route_class     text NOT NULL,
  user_id         uuid REFERENCES auth.users(id) ON DELETE CASCADE,
  max_requests    integer NOT NULL CHECK (max_requests > 0),
  window_seconds  integer NOT NULL CHECK (window_seconds > 0),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (route_class, user_id)
);

-- Where candidate supply in a category is short of what the interest needs.
CREATE TABLE IF NOT EXISTS public.marketplace_gaps (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  interest_id      uuid NOT NULL REFERENCES public.interest_catalog(id) ON DELETE CASCADE,
  category_id      uuid NOT NULL REFERENCES public.marketplace_categories(id) ON DELETE CASCADE,
  candidate_count  integer NOT NULL,
  required_count   integer NOT NULL,
  gap              integer GENERATED ALWAYS AS (greatest(required_count - candidate_count, 0)) STORED,
  detected_at      timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (interest_id, category_id)
);

-- Every operator or automatic action: who, what, on which key, old → new, why.
CREATE TABLE IF NOT EXISTS public.ai_action_ledger (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  action      text NOT NULL,
  target      text,
  old_value   jsonb,
  new_value   jsonb,
  reason      text,
  request_id  text,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS ai_action_ledger_timestamp_idx ON public.ai_action_ledger ("timestamp" DESC);

-- ---------------------------------------------------------------- SLO rollups
-- SLO targets per operation; the views join the per-minute request rollups to these.
CREATE TABLE IF NOT EXISTS public.slo_targets (
  operation            text PRIMARY KEY,
  latency_p95_ms       double precision NOT NULL CHECK (latency_p95_ms > 0),
  availability_target  double precision NOT NULL DEFAULT 0.999
                       CHECK (availability_target > 0 AND availability_target < 1),
  description          text,
  updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Per-operation, per-minute request rollups merged from the Worker's histograms.
CREATE TABLE IF NOT EXISTS public.request_metrics_minute (
  operation   text NOT NULL,
  minute      timestamptz NOT NULL,
  requests    bigint NOT NULL DEFAULT 0,
  errors      bigint NOT NULL DEFAULT 0,
  latency_sum_ms double precision NOT NULL DEFAULT 0,
  -- Log-scale histogram of latencies: buckets[i] counts requests in bucket i (see src/observability).
  buckets     bigint[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (operation, minute)
);
CREATE INDEX IF NOT EXISTS request_metrics_minute_minute_idx ON public.request_metrics_minute (minute);
