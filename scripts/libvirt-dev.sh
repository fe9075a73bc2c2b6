#!/usr/bin/env bash
# Installs and starts a real libvirtd with QEMU (TCG) for the compute agent's integration tests,
# on machines without systemd (CI containers, the dev box). Idempotent: packages already installed
# are skipped, daemons already answering are left alone.
#
# Facts it relies on (see /work/shared/notes/real-backends.md):
# - libvirtd runs under `tini -s` (a subreaper): without it every domain destroy waits ~1.7 s for
#   PID 1 to reap QEMU's zombie; with it ~0.2 s.
# - The first start probes QEMU's capabilities (~8 s); later starts take < 1.5 s.
#
# Network: the tests define domains with network "none" (no NIC), so they never depend on the
# `default` network, which needs a bridge, dnsmasq and firewall rules a container may not allow.
# This script still tries to define and start `default` and only warns when it cannot.
set -euo pipefail

PACKAGES=(libvirt-dev libvirt-clients libvirt-daemon-system qemu-system-x86 qemu-utils qemu-block-extra tini python3-libvirt)
URI="qemu:///system"
log() { echo "libvirt-dev: $*" >&2; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d-less containers: the packages' postinst must not try to start services.
  $SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# /dev/kvm as Debian's udev rule leaves it (root:kvm 0660). A container that makes it root-only
# (0600) has libvirtd probe QEMU as root (KVM "enabled") while the libvirt-qemu user cannot open it,
# so libvirt's capability cache is "outdated" on every lookup and each define re-probes QEMU
# (measured: define 14.5 s instead of 0.09 s). Domains use type='qemu' (TCG) either way.
if [ -c /dev/kvm ] && [ "$(id -u)" -eq 0 ] && getent group kvm >/dev/null; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi

if virsh -c "$URI" version >/dev/null 2>&1; then
  log "libvirtd already answers on $URI"
else
  [ "$(id -u)" -eq 0 ] || { log "starting libvirtd needs root"; exit 1; }
  mkdir -p /run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d --pid-file /run/libvirt/virtlogd-edgehub.pid
  fi
  if ! pgrep -x libvirtd >/dev/null; then
    # setsid + nohup: the daemon outlives this script and the shell that ran it.
    setsid nohup tini -s -- libvirtd >/var/log/libvirt/libvirtd-edgehub.log 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do
    virsh -c "$URI" version >/dev/null 2>&1 && break
    sleep 0.5
  done
  virsh -c "$URI" version >/dev/null 2>&1 || { log "libvirtd did not answer within 60 s; see /var/log/libvirt/libvirtd-edgehub.log"; exit 1; }
  log "libvirtd answers on $URI"
fi

# Best effort: the `default` NAT network (the agent's default NIC). Tests do not need it.
if ! virsh -c "$URI" net-info default >/dev/null 2>&1; then
  if [ -f /usr/share/libvirt/networks/default.xml ]; then
    virsh -c "$URI" net-define /usr/share/libvirt/networks/default.xml >/dev/null 2>&1 || true
  fi
fi
if virsh -c "$URI" net-info default 2>/dev/null | grep -q "Active:.*no"; then
  virsh -c "$URI" net-start default >/dev/null 2>&1 || log "warning: cannot start the default network (tests use network \"none\")"
fi
virsh -c "$URI" version
