#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the test suites.
# As root it installs (apt-get) and starts one when missing; otherwise it says so loudly and
# the PostgreSQL suites skip (or fail, under REQUIRE_REAL_BACKENDS=1).
set -uo pipefail

answers() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if answers; then
  echo "postgres: answering on 127.0.0.1:5432"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "!!! postgres: nothing answers on 127.0.0.1:5432 and this is not root: PostgreSQL suites will SKIP" >&2
  exit 0
fi

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "postgres: installing with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
conf=/etc/postgresql/$version/main
# Trust auth on loopback, as the test URLs carry no password.
if ! grep -q "edgehub-test" "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust # edgehub-test\nlocal all all trust # edgehub-test' "$conf/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do answers && break; sleep 1; done
if ! answers; then
  echo "!!! postgres: could not start a server on 127.0.0.1:5432" >&2
  exit 0
fi
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 || su postgres -c "createdb test"
echo "postgres: started $version on 127.0.0.1:5432"
