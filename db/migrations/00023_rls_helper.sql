-- +goose Up
-- aias_enable_rls(table, tenant_column)
--   The row-level security every tenant table gets, stated once: RLS
--   enabled and forced (the owner is confined too), and, when tenant_column
--   is given, the one policy that shows and accepts only the rows of the
--   transaction's tenant (app.tenant_id, set by postgres.DB.InTenantTx or
--   aias_scope). With a NULL column the table has no policy: nothing in it
--   is visible to a role that RLS confines, and it is reached only through
--   SECURITY DEFINER functions. Migrations call it for each table they
--   create; internal/postgres/catalog_test.go checks every tenant table.
-- +goose StatementBegin
CREATE FUNCTION aias_enable_rls(p_table regclass, p_tenant_column text DEFAULT 'tenant_id')
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
  IF p_tenant_column IS NOT NULL THEN
    EXECUTE format($p$CREATE POLICY tenant_isolation ON %s
        USING (%2$I = nullif(current_setting('app.tenant_id', true), '')::uuid)
        WITH CHECK (%2$I = nullif(current_setting('app.tenant_id', true), '')::uuid)$p$, p_table, p_tenant_column);
  END IF;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION aias_enable_rls(regclass, text) FROM PUBLIC;

-- +goose Down
DROP FUNCTION IF EXISTS aias_enable_rls(regclass, text);
