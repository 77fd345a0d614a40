#!/bin/sh
# Creates Smart Upload's own database and login role in DefectDojo's Postgres server.
# The postgres image runs this once, when it initialises an empty data directory (so on
# an existing DefectDojo volume, create them by hand: see deploy/README.md). It may be
# executed or sourced by that image's entrypoint, hence no `set` or `exit` here: psql
# stops at the first error and its status is the script's.
# Names and password are passed as psql variables, quoted by psql (:"ident", :'literal'),
# never spliced into SQL by the shell.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=su_db="$SMART_UPLOAD_DB_NAME" \
    --set=su_user="$SMART_UPLOAD_DB_USER" \
    --set=su_password="$SMART_UPLOAD_DB_PASSWORD" \
    --set=dd_db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"su_user" LOGIN PASSWORD :'su_password';
CREATE DATABASE :"su_db" OWNER :"su_user";
-- Each application reaches its own database only.
REVOKE ALL ON DATABASE :"su_db" FROM PUBLIC;
REVOKE CONNECT ON DATABASE :"dd_db" FROM PUBLIC;
SQL
