#!/usr/bin/env bash
# Builds the tiny bootable test disk used by the libvirt and image-content tests: a 64 MiB FAT
# "superfloppy" holding Debian's cloud kernel and a busybox initramfs, made bootable by SYSLINUX and
# converted to qcow2. No root loop mounts and no network beyond apt-get (see
# /work/shared/notes/real-backends.md, "A bootable test disk image…").
#
# Usage: scripts/build-test-image.sh [OUTPUT_DIR]     (default ./data/test-image)
# Prints two lines on stdout: the image path, then its sha256 (progress goes to stderr).
# The result is cached: an existing OUTPUT_DIR/test-image.qcow2 (with its .sha256) is reused.
#
# The guest prints EDGEHUB-TEST-GUEST-BOOTED to /dev/ttyS0 once its virtio disk and network modules
# are loaded, and powers off when the ACPI power button is pressed (virsh shutdown).
#
# QEMU runs as libvirt-qemu, so the image must sit in a directory that user can reach: the output
# directory and file are made world-readable, and the script fails if an ancestor directory lacks
# o+x (e.g. anything under /root). Use e.g. /var/lib/edgehub-test-image there.
set -euo pipefail

MARKER="EDGEHUB-TEST-GUEST-BOOTED"
OUT_DIR="${1:-./data/test-image}"
PACKAGES=(syslinux syslinux-common mtools dosfstools busybox-static cpio qemu-utils xz-utils)
# Load order matters: each module after the ones it depends on (from the modules' depends= fields).
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net
  virtio_blk button evdev)

log() { echo "build-test-image: $*" >&2; }

mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
IMAGE="$OUT_DIR/test-image.qcow2"

check_reachable() {
  local dir="$1"
  while [ "$dir" != "/" ]; do
    if [ "$(($(stat -c '%a' "$dir" | sed 's/^.*\(.\)$/\1/') & 1))" -eq 0 ]; then
      log "$dir is not searchable by other users (o+x); libvirt-qemu could not read $IMAGE"
      log "choose an output directory outside it, e.g. /var/lib/edgehub-test-image"
      exit 1
    fi
    dir="$(dirname "$dir")"
  done
}
chmod 0755 "$OUT_DIR"
check_reachable "$OUT_DIR"

if [ -s "$IMAGE" ] && [ -s "$IMAGE.sha256" ]; then
  echo "$IMAGE"
  cat "$IMAGE.sha256"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
chmod 0755 "$WORK" # apt-get download drops privileges to _apt and needs to write here

# The meta-package names the current cloud kernel (e.g. linux-image-6.1.0-57-cloud-amd64).
KERNEL_PKG="$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n1)"
[ -n "$KERNEL_PKG" ] || {
  log "cannot find the current linux-image-*-cloud-amd64 (run apt-get update)"
  exit 1
}
log "kernel package $KERNEL_PKG"
(cd "$WORK" && apt-get download -qq "$KERNEL_PKG" >&2)
dpkg-deb -x "$WORK"/linux-image-*.deb "$WORK/kernel"
KVER="${KERNEL_PKG#linux-image-}"
MODDIR="$WORK/kernel/lib/modules/$KVER/kernel"

ROOT="$WORK/initramfs"
mkdir -p "$ROOT"/{bin,sbin,dev,proc,sys,tmp,modules,etc/acpi/PWRF,var/log,var/run}
cp /bin/busybox "$ROOT/bin/busybox"
for applet in $("$ROOT/bin/busybox" --list); do
  [ -e "$ROOT/bin/$applet" ] || ln -s busybox "$ROOT/bin/$applet"
done

loaded=()
for m in "${MODULES[@]}"; do
  f="$(find "$MODDIR" \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -n1)"
  if [ -z "$f" ]; then
    log "module $m not found (built into $KVER?), skipped"
    continue
  fi
  case "$f" in
  *.xz) xz -dc "$f" >"$ROOT/modules/$m.ko" ;;
  *) cp "$f" "$ROOT/modules/$m.ko" ;;
  esac
  loaded+=("$m")
done

cat >"$ROOT/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${loaded[*]}; do insmod /modules/\$m.ko 2>/dev/null; done
# acpid opens the event devices present when it starts: wait until every input device has one.
i=0
while [ \$(ls /sys/class/input | grep -c '^event') -lt \$(ls /sys/class/input | grep -c '^input') ] || \\
  [ \$(ls /dev/input | grep -c '^event') -lt \$(ls /sys/class/input | grep -c '^event') ]; do
  i=\$((i + 1)); [ \$i -gt 50 ] && break; sleep 0.1
done
acpid -c /etc/acpi -l /var/log/acpid.log
echo "$MARKER" >/dev/ttyS0
exec sh </dev/ttyS0 >/dev/ttyS0 2>&1
EOF
# busybox acpid runs <conf dir>/PWRF/00000080 for the power button; -f because init is a shell.
printf '#!/bin/sh\npoweroff -f\n' >"$ROOT/etc/acpi/PWRF/00000080"
chmod 0755 "$ROOT/init" "$ROOT/etc/acpi/PWRF/00000080"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -9) >"$WORK/initrd.gz"

cp "$WORK/kernel/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
printf 'DEFAULT linux\nPROMPT 0\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=initrd.gz console=ttyS0\n' >"$WORK/syslinux.cfg"
truncate -s 64M "$WORK/disk.raw"
mkfs.vfat "$WORK/disk.raw" >&2
mcopy -i "$WORK/disk.raw" "$WORK/vmlinuz" "$WORK/initrd.gz" "$WORK/syslinux.cfg" ::
syslinux --install "$WORK/disk.raw"
qemu-img convert -O qcow2 "$WORK/disk.raw" "$WORK/test-image.qcow2"

sha256sum "$WORK/test-image.qcow2" | cut -d' ' -f1 >"$WORK/test-image.qcow2.sha256"
chmod 0644 "$WORK/test-image.qcow2" "$WORK/test-image.qcow2.sha256"
# Checksum first, image last: the cache test above looks for both.
mv "$WORK/test-image.qcow2.sha256" "$IMAGE.sha256"
mv "$WORK/test-image.qcow2" "$IMAGE"
log "built $IMAGE ($(stat -c %s "$IMAGE") bytes)"
echo "$IMAGE"
cat "$IMAGE.sha256"
