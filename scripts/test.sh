#!/usr/bin/env bash
# The whole test suite: type check, then mocha. Brings up the real backends the suites need
# (PostgreSQL now) first. Runs on PGlite unless DATABASE_URL points at a PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm install --no-audit --no-fund
bash scripts/ensure-postgres.sh

echo "== type check"
npx tsc -p tsconfig.json --noEmit

echo "== mocha ($( [ -n "${DATABASE_URL:-}" ] && echo "PostgreSQL: ${DATABASE_URL}" || echo "embedded PGlite"))"
if [ $# -eq 0 ]; then set -- "test/**/*.test.ts"; fi
npx mocha "$@"
