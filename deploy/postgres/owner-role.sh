#!/bin/sh
# Run once by the postgres image (compose.yaml mounts it into
# /docker-entrypoint-initdb.d) when its data volume is empty: the role
# `sunlight` that owns Sunlight's schema — init, migrate, triage and backup
# connect as it — is a plain LOGIN role, not a superuser. Its password comes
# from SUNLIGHT_DB_PASSWORD (deploy/.env) through psql's \getenv, never a
# command line. Changing SUNLIGHT_DB_PASSWORD later changes nothing here:
# run `ALTER ROLE sunlight PASSWORD …` as the superuser too.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\getenv owner_password SUNLIGHT_DB_PASSWORD
CREATE ROLE sunlight LOGIN PASSWORD :'owner_password';
ALTER DATABASE sunlight OWNER TO sunlight;
ALTER SCHEMA public OWNER TO sunlight;
SQL
