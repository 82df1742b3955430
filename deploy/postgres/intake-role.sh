#!/bin/sh
# Run by compose.yaml's `intake-role` one-shot after every `sunlight migrate`,
# as the superuser (PGHOST, PGUSER, PGPASSWORD, PGDATABASE from compose):
# intake-role.sql creates the restricted role sunlight_intake if missing and
# grants it again exactly what intake needs; then the role's password is set
# from SUNLIGHT_INTAKE_DB_PASSWORD through psql's \getenv, never a command
# line.
set -eu
psql -v ON_ERROR_STOP=1 --quiet --file=/sql/intake-role.sql
psql -v ON_ERROR_STOP=1 --quiet <<'SQL'
\getenv intake_password SUNLIGHT_INTAKE_DB_PASSWORD
ALTER ROLE sunlight_intake PASSWORD :'intake_password';
SQL
