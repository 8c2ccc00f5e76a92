-- Who may call the functions, stated once and applied after them. A
-- SECURITY DEFINER function runs with its owner's rights, past row-level
-- security: only the application's group role may execute one, never
-- PUBLIC. SECURITY INVOKER functions run with their caller's rights (RLS
-- applies as for any statement) and keep Postgres's default.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = current_schema() AND p.prosecdef LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO aias_app', f);
  END LOOP;
END
$$;
