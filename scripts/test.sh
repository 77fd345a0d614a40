#!/usr/bin/env bash
# The whole check: set-up, lint, types, and the test suite against the local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-test-tools.sh
.venv/bin/ruff check app tests bench
.venv/bin/ruff format --check app tests bench
.venv/bin/mypy app
.venv/bin/pytest "$@"
