#!/usr/bin/env bash
# Installs and starts two single-node Ceph clusters (1 mon + 1 OSD each, memstore, no mgr,
# loopback only) for the ceph_gateway agent's integration tests, on machines without systemd.
#   plain  auth none      mon v2:127.0.0.1:3300  — most suites and QEMU attach tests
#   cephx  cephx required mon v2:127.0.0.1:3301  — restricted user client.edgehub-disks
# Idempotent: a cluster that answers with its OSD up is left alone (exit 0 in well under a second).
# `--stop` kills the daemons and removes the state (memstore keeps everything in RAM anyway).
#
# Facts it relies on (see /work/shared/notes/real-backends.md, "Ceph"):
# - `paxos propose interval = 0.01`: at the default 1.0 every snapshot create/remove takes ~900 ms.
# - `paxos min wait = 0.001`: at the default 0.05 each still takes ~60 ms; with it ~7 ms (measured).
# - librados waits 300 s for a mon and forever for an OSD by default: clients get timeouts here.
# - No mgr: RBD does not need one (`ceph df`/`pg stat` would hang without it, so nothing here uses them).
# - Port 3300 is msgr2's IANA port, so a bare "127.0.0.1:3300" (what libvirt hands QEMU) means v2.
set -euo pipefail

ROOT_DIR="${EDGEHUB_CEPH_DEV_ROOT:-/var/lib/edgehub-ceph-dev}"
PACKAGES=(ceph-mon ceph-osd ceph-common python3-rbd python3-rados)
POOLS=(private-data-disks private-data-disks-ssd private-data-disks-nvme)
RESTRICTED_USER="client.edgehub-disks"
log() { echo "ceph-dev: $*" >&2; }
die() { log "$*"; exit 1; }

# EDGEHUB_CEPH_DEV_PORT moves both clusters (plain on it, cephx on it + 1), e.g. to try this
# script beside running clusters; test/support/ceph-backends.ts expects the defaults.
PORT_BASE="${EDGEHUB_CEPH_DEV_PORT:-3300}"
# EDGEHUB_CEPH_DEV_CLUSTERS="plain" starts (and checks) only the named clusters.
read -r -a CLUSTERS <<<"${EDGEHUB_CEPH_DEV_CLUSTERS:-plain cephx}"
port_of() { case "$1" in plain) echo "$PORT_BASE" ;; cephx) echo $((PORT_BASE + 1)) ;; esac; }
auth_of() { case "$1" in plain) echo none ;; cephx) echo cephx ;; esac; }

stop_cluster() {
  local dir="$ROOT_DIR/$1"
  [ -d "$dir" ] || return 0
  local pidf pid
  for pidf in "$dir"/run/*.pid; do
    [ -f "$pidf" ] || continue
    pid="$(cat "$pidf")"
    # Only a Ceph daemon of this cluster: a stale pid file must not kill an unrelated process.
    if [ -n "$pid" ] && grep -qs "$dir" "/proc/$pid/cmdline"; then kill "$pid" 2>/dev/null || true; fi
  done
  for pidf in "$dir"/run/*.pid; do
    [ -f "$pidf" ] || continue
    pid="$(cat "$pidf")"
    for _ in $(seq 1 50); do grep -qs "$dir" "/proc/$pid/cmdline" || break; sleep 0.1; done
    if grep -qs "$dir" "/proc/$pid/cmdline"; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$dir"
}

if [ "${1:-}" = "--stop" ]; then
  [ "$(id -u)" -eq 0 ] || die "--stop needs root"
  for name in "${CLUSTERS[@]}"; do stop_cluster "$name"; done
  log "stopped; state under $ROOT_DIR removed"
  exit 0
fi

# Answers with its OSD up: the healthy, already-running case.
cluster_answers() {
  local conf="$ROOT_DIR/$1/ceph.conf"
  [ -f "$conf" ] || return 1
  timeout 10 ceph -c "$conf" --connect-timeout 3 osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'
}

print_where() {
  echo "plain: conf=$ROOT_DIR/plain/ceph.conf mon=v2:127.0.0.1:$(port_of plain) auth=none"
  echo "cephx: conf=$ROOT_DIR/cephx/ceph.conf mon=v2:127.0.0.1:$(port_of cephx) auth=cephx admin-keyring=$ROOT_DIR/cephx/ceph.client.admin.keyring user=$RESTRICTED_USER keyring=$ROOT_DIR/cephx/ceph.$RESTRICTED_USER.keyring"
}

all_answer() {
  local name
  for name in "${CLUSTERS[@]}"; do cluster_answers "$name" || return 1; done
}

if command -v ceph >/dev/null 2>&1 && all_answer; then
  log "${CLUSTERS[*]}: already answer"
  print_where
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "installing and starting Ceph needs root"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d-less containers: the packages' postinst must not try to start services.
  env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

write_conf() {
  local name="$1" dir="$2" fsid="$3" port auth
  port="$(port_of "$name")"
  auth="$(auth_of "$name")"
  cat >"$dir/ceph.conf" <<EOF
# edgehub dev cluster "$name" (scripts/ceph-dev.sh): single node, memstore, no mgr, loopback only.
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = $auth
auth service required = $auth
auth client required = $auth
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
paxos propose interval = 0.01
paxos min wait = 0.001
# librados defaults: 300 s for a mon, forever for an OSD. A client of a dead cluster must fail fast.
client mount timeout = 10
rados mon op timeout = 30
rados osd op timeout = 30
EOF
  if [ "$auth" = cephx ]; then
    echo "keyring = $dir/ceph.client.admin.keyring" >>"$dir/ceph.conf"
  fi
  # Logs, pid files and admin sockets for the daemons only: clients (the agent, QEMU as
  # libvirt-qemu) must not try to write into this root-owned directory.
  cat >>"$dir/ceph.conf" <<EOF

[mon]
mon data = $dir/mon.a
keyring = $dir/mon.keyring
run dir = $dir/run
pid file = $dir/run/mon.a.pid
log file = $dir/log/mon.a.log
admin socket = $dir/run/mon.a.asok

[osd]
osd data = $dir/osd.0
keyring = $dir/osd.0/keyring
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object name len = 256
osd max object namespace len = 64
run dir = $dir/run
pid file = $dir/run/osd.0.pid
log file = $dir/log/osd.0.log
admin socket = $dir/run/osd.0.asok
EOF
}

alive() { kill -0 "$(cat "$1")" 2>/dev/null; }

start_cluster() {
  local name="$1" dir="$ROOT_DIR/$1" auth fsid port osd_uuid
  auth="$(auth_of "$name")"
  port="$(port_of "$name")"
  stop_cluster "$name"
  mkdir -p "$dir/run" "$dir/log" "$dir/osd.0"
  # QEMU (libvirt-qemu) reads the plain cluster's conf: directories traversable, conf world-readable.
  chmod 0755 "$ROOT_DIR" "$dir"
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$name" "$dir" "$fsid"
  chmod 0644 "$dir/ceph.conf"
  local conf="$dir/ceph.conf"

  ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  if [ "$auth" = cephx ]; then
    ceph-authtool --create-keyring "$dir/ceph.client.admin.keyring" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
    chmod 0600 "$dir/ceph.client.admin.keyring"
    ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/ceph.client.admin.keyring" >/dev/null
  fi
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring" 2>>"$dir/log/mkfs.log"
  # setsid + nohup + -f: the daemon outlives this script and the shell that ran it.
  setsid nohup ceph-mon -f -c "$conf" -i a >>"$dir/log/mon.a.out" 2>&1 </dev/null &
  echo $! >"$dir/run/mon.a.pid"
  local up=""
  for _ in $(seq 1 100); do
    alive "$dir/run/mon.a.pid" || die "$name: ceph-mon exited; see $dir/log/mon.a.log"
    if timeout 5 ceph -c "$conf" --connect-timeout 2 mon stat >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] || die "$name: ceph-mon did not answer on 127.0.0.1:$port; see $dir/log/"

  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  if [ "$auth" = cephx ]; then
    local key
    key="$(ceph-authtool --gen-print-key)"
    printf '{"cephx_secret": "%s"}' "$key" >"$dir/osd.0/secret.json"
    [ "$(ceph -c "$conf" osd new "$osd_uuid" -i "$dir/osd.0/secret.json")" = 0 ] || die "$name: osd new did not return id 0"
    ceph-authtool --create-keyring "$dir/osd.0/keyring" --name osd.0 --add-key "$key" >/dev/null
    rm -f "$dir/osd.0/secret.json"
  else
    [ "$(ceph -c "$conf" osd new "$osd_uuid")" = 0 ] || die "$name: osd new did not return id 0"
  fi
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/mkfs.log" 2>&1
  setsid nohup ceph-osd -f -c "$conf" -i 0 >>"$dir/log/osd.0.out" 2>&1 </dev/null &
  echo $! >"$dir/run/osd.0.pid"
  up=""
  for _ in $(seq 1 200); do
    alive "$dir/run/osd.0.pid" || die "$name: ceph-osd exited; see $dir/log/osd.0.log"
    if timeout 5 ceph -c "$conf" osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] || die "$name: osd.0 did not come up; see $dir/log/osd.0.log"

  local pool
  for pool in "${POOLS[@]}"; do
    ceph -c "$conf" osd pool create "$pool" 8 8 >/dev/null 2>&1
    rbd -c "$conf" pool init "$pool"
  done

  if [ "$auth" = cephx ]; then
    # The production setup: the gateway's own user, RBD only, these pools only.
    ceph -c "$conf" auth get-or-create "$RESTRICTED_USER" mon 'profile rbd' \
      osd "profile rbd pool=${POOLS[0]}, profile rbd pool=${POOLS[1]}, profile rbd pool=${POOLS[2]}" \
      -o "$dir/ceph.$RESTRICTED_USER.keyring"
    chmod 0600 "$dir/ceph.$RESTRICTED_USER.keyring"
    # The bare key too: a libvirt secret (QEMU attach with cephx) takes the key, not a keyring.
    ceph -c "$conf" auth get-key "$RESTRICTED_USER" >"$dir/ceph.$RESTRICTED_USER.key"
    chmod 0600 "$dir/ceph.$RESTRICTED_USER.key"
  fi
  log "$name: up (mon v2:127.0.0.1:$port, auth $auth, pools ${POOLS[*]})"
}

mkdir -p "$ROOT_DIR"
chmod 0755 "$ROOT_DIR"
# Both at once (each is mostly waiting on CLI round trips): ~6 s instead of ~11 s.
pids=()
for name in "${CLUSTERS[@]}"; do
  if cluster_answers "$name"; then log "$name: already answers"; else (start_cluster "$name") & pids+=($!); fi
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || die "a cluster did not start (messages above)"
print_where
