#!/bin/sh
# Container entrypoint: bring the service's database schema up to date, then hand the
# process over to the container's command (uvicorn by default, or `smart-upload worker`).
# Migrations run here so a new image upgrades its database on start; they are idempotent,
# so every start may run them. Set SMART_UPLOAD_MIGRATE=false on containers that must not
# (the compose worker starts only after the web service has migrated).
set -eu

if [ "${SMART_UPLOAD_MIGRATE:-true}" = "true" ]; then
    alembic upgrade head
fi

exec "$@"
