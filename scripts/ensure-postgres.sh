#!/usr/bin/env bash
# Makes sure the PostgreSQL server the test suites use answers: the one in DATABASE_URL or
# TEST_POSTGRES_URL, else 127.0.0.1:5432. As root it installs (apt-get) and starts a local one when
# that is the target and nothing answers. Otherwise it says so loudly and the PostgreSQL suites
# skip — or, under REQUIRE_REAL_BACKENDS=1 (CI), this script fails with the reason.
set -uo pipefail

url="${DATABASE_URL:-${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}"
# host and port from postgres://[user[:password]@]host[:port][/db]
hostport="${url#*://}"; hostport="${hostport##*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"
host="${hostport%%:*}"; port="${hostport#"$host"}"; port="${port#:}"; port="${port:-5432}"
target="$host:$port"

answers() { pg_isready -q -h "$host" -p "$port" -t 2 2>/dev/null || (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

missing() {
  if [ "${REQUIRE_REAL_BACKENDS:-}" = "1" ]; then
    echo "!!! postgres: $1; REQUIRE_REAL_BACKENDS=1 forbids skipping the PostgreSQL suites" >&2
    exit 1
  fi
  echo "!!! postgres: $1: PostgreSQL suites will SKIP" >&2
  exit 0
}

if answers; then
  echo "postgres: answering on $target"
  exit 0
fi

case "$host" in
  127.0.0.1|localhost) [ "$port" = "5432" ] || missing "nothing answers on $target, and only a local server on port 5432 is started here" ;;
  *) missing "nothing answers on $target (a remote server is not started here)" ;;
esac
[ "$(id -u)" = "0" ] || missing "nothing answers on $target and this is not root (cannot install or start a server)"

if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "postgres: installing with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }; then
    missing "nothing answers on $target and apt-get could not install postgresql"
  fi
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
conf=/etc/postgresql/$version/main
# Trust auth on loopback, as the test URLs carry no password.
if ! grep -q "edgehub-test" "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust # edgehub-test\nlocal all all trust # edgehub-test' "$conf/pg_hba.conf"
fi
started=$(pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1) || true
for _ in $(seq 1 30); do answers && break; sleep 1; done
if ! answers; then
  missing "could not start PostgreSQL $version on $target${started:+ (pg_ctlcluster: $(echo "$started" | tail -1))}"
fi
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 || su postgres -c "createdb test"
echo "postgres: started $version on $target"
