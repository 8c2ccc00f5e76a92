-- Runs once, when the postgres container initialises an empty data volume,
-- as the postgres superuser (the schema owner, who runs `aias migrate`).
--
--   aias_app  NOLOGIN group role; the migrations grant table privileges to it
--   aias      LOGIN role of ingress, worker and scheduler: a member of aias_app,
--             no superuser, no BYPASSRLS, owns nothing (row-level security applies)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aias_app') THEN
    CREATE ROLE aias_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aias') THEN
    CREATE ROLE aias LOGIN PASSWORD 'aias' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

GRANT aias_app TO aias;
