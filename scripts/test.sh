#!/usr/bin/env bash
# The whole test suite: type check, then mocha. Brings up the real backends the suites need
# (PostgreSQL, libvirt + QEMU, Ceph) first. Runs on PGlite unless DATABASE_URL points at a PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm install --no-audit --no-fund
bash scripts/ensure-postgres.sh
# libvirt (test:///default for the executor's unit tests) and a libvirtd with QEMU/TCG for the
# integration suites: installed and started as root; otherwise those suites skip loudly.
if ! bash scripts/libvirt-dev.sh; then
  if [ "${REQUIRE_REAL_BACKENDS:-}" = "1" ]; then
    echo "!!! libvirt: could not install or start libvirtd; REQUIRE_REAL_BACKENDS=1 forbids skipping its suites" >&2
    exit 1
  fi
  echo "!!! libvirt: could not install or start libvirtd: the libvirt suites will SKIP" >&2
fi
# Ceph (two single-node memstore clusters: auth none and cephx) for the ceph_gateway suites:
# installed and started as root (~15 s from nothing, <1 s when running); otherwise they skip loudly.
if ! bash scripts/ceph-dev.sh; then
  if [ "${REQUIRE_REAL_BACKENDS:-}" = "1" ]; then
    echo "!!! ceph: could not install or start the dev clusters; REQUIRE_REAL_BACKENDS=1 forbids skipping its suites" >&2
    exit 1
  fi
  echo "!!! ceph: could not install or start the dev clusters: the Ceph suites will SKIP" >&2
fi

echo "== type check"
npx tsc -p tsconfig.json --noEmit

echo "== mocha ($( [ -n "${DATABASE_URL:-}" ] && echo "PostgreSQL: ${DATABASE_URL}" || echo "embedded PGlite"))"
if [ $# -eq 0 ]; then set -- "test/**/*.test.ts"; fi
npx mocha "$@"
