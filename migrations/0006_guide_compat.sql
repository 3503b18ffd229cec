-- Compatibility with the cutover guide's §2A RLS check, which reads
--   SELECT relname, polname FROM pg_policies WHERE schemaname='public' ...
-- Stock pg_catalog.pg_policies names those columns tablename/policyname. To run the guide's SQL
-- unchanged we add public.pg_policies (every column of the catalog view plus the two aliases) and
-- search public before pg_catalog in this database. Only the migration owner can create objects
-- in public (PG15+ default), so the changed lookup order cannot be abused by API roles.
CREATE OR REPLACE VIEW public.pg_policies AS
SELECT p.schemaname, p.tablename, p.policyname, p.permissive, p.roles, p.cmd, p.qual, p.with_check,
       p.tablename AS relname, p.policyname AS polname
FROM pg_catalog.pg_policies p;

GRANT SELECT ON public.pg_policies TO anon, authenticated, service_role;

DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, pg_catalog', current_database());
END
$$;
