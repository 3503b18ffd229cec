-- Roles and the auth schema: the Supabase / Neon-RLS pattern.
--   authenticated : what a user's request runs as (SET LOCAL ROLE), RLS applies.
--   anon          : unauthenticated callers (catalog reads only).
--   service_role  : jobs and operators through the API; full access by policy.
-- auth.uid() reads the caller's claims from request.jwt.claims (set per transaction).

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT;
  END IF;
END
$$;

-- The connecting role must be able to SET ROLE to these (on Neon the owner role is not a
-- superuser). Granting membership to oneself is a no-op for superusers.
DO $$
BEGIN
  EXECUTE format('GRANT anon, authenticated, service_role TO %I', current_user);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'could not grant API roles to %: %', current_user, SQLERRM;
END
$$;

CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE IF NOT EXISTS auth.users (
  id            uuid PRIMARY KEY,
  email         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz,
  raw_claims    jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Claims of the current request, as set by set_config('request.jwt.claims', json, true).
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $$
  SELECT nullif(auth.jwt() ->> 'sub', '')::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(auth.jwt() ->> 'role', current_user::text)
$$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role;
GRANT SELECT ON auth.users TO service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
