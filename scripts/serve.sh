#!/usr/bin/env bash
# Runs the service on http://127.0.0.1:8000 with the local PostgreSQL: creates its database
# when missing, applies the migrations, then serves (worker included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/smart_upload}"
database="${DATABASE_URL##*/}"
admin_url="${DATABASE_URL%/*}/postgres"
if ! psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    psql "$admin_url" -qc "CREATE DATABASE \"$database\""
fi
.venv/bin/alembic upgrade head
exec .venv/bin/uvicorn app.main:app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
