#!/usr/bin/env bash
# Creates the development database and roles if they are missing:
#   aias_app  NOLOGIN group role the migrations grant table privileges to
#   aias      LOGIN role of the programs: member of aias_app, no superuser, no BYPASSRLS
#   aias      database, owned by the postgres superuser (the schema owner in dev)
set -euo pipefail
DB=${AIAS_DEV_DB:-aias}
psql_admin() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }

psql_admin -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aias_app') THEN
    CREATE ROLE aias_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'aias') THEN
    CREATE ROLE aias LOGIN PASSWORD 'aias' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
\$\$;
GRANT aias_app TO aias;
SQL

if ! psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  echo "dev-db: creating database $DB"
  psql_admin -d postgres -c "CREATE DATABASE \"$DB\""
fi
