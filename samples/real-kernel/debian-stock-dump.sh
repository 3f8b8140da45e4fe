#!/usr/bin/env bash
# Dumps Debian's stock cloud kernel (no page_owner) booted under QEMU, for the benchmark: its
# debug vmlinux is ~590 MB, the size users have, so vmowner's start-up (DWARF, symbols) is
# measured on a real-size vmlinux. Usage: debian-stock-dump.sh
# Result (last stdout line): ${VMOWNER_CACHE:-/var/cache/vmowner}/debian-stock/<release>/ with
# vmlinux, vmcore.elf and pagetypeinfo.txt (what the guest printed just before the dump). Needs what make-dump.sh needs (qemu-system-x86, busybox-static).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${VMOWNER_CACHE:-/var/cache/vmowner}/debian-stock"
log() { echo "[debian-stock $(date +%H:%M:%S)] $*" >&2; }
die() { echo "[debian-stock] ERROR: $*" >&2; exit 1; }

missing=()
for p in qemu-system-x86 busybox-static cpio; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The cloud flavour: the same kernel family as Debian's main one, a smaller download.
image=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$image" ] || die "cannot tell which linux-image-*-cloud-amd64 Debian ships"
release=${image#linux-image-}
result="$cache/$release"
if [ -f "$result/DONE" ] && [ -f "$result/pagetypeinfo.txt" ]; then log "already made"; echo "$result"; exit 0; fi
mkdir -p "$result/dl" "$result/work"
cd "$result/dl"
[ -n "$(ls "$image"_*.deb 2>/dev/null)" ] || apt-get download "$image" "$image-dbg" >/dev/null 2>&1 || die "apt-get download $image failed"
log "unpacking $image"
rm -rf "$result/img" && mkdir -p "$result/img"
dpkg-deb -x "$(ls "$image"_*.deb | head -1)" "$result/img"
dpkg-deb --fsys-tarfile "$(ls "$image"-dbg_*.deb | head -1)" | tar -x --wildcards -O "*/boot/vmlinux-$release" >"$result/vmlinux" \
    || die "no vmlinux in $image-dbg"

# initramfs: busybox and qemu_fw_cfg (a module here), which -device vmcoreinfo needs.
root="$result/work/root"
rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys}
cp /bin/busybox "$root/bin/busybox"
fwcfg=$(find "$result/img/lib/modules" -name 'qemu_fw_cfg.ko*' | head -1)
[ -n "$fwcfg" ] || die "qemu_fw_cfg module not found in $image"
cp "$fwcfg" "$root/qemu_fw_cfg.ko"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
insmod /qemu_fw_cfg.ko
# What the kernel says of its pageblocks, for the fragmentation test (an idle guest keeps them).
echo "VMOWNER-PAGETYPEINFO-BEGIN"
cat /proc/pagetypeinfo
echo "VMOWNER-PAGETYPEINFO-END"
echo "VMOWNER-STOCK-READY"
while :; do :; done
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$result/work/initramfs.cpio.gz"

serial="$result/serial.log" qmp="$result/work/qmp.sock"
rm -f "$serial" "$qmp"
log "booting $release under QEMU (TCG, 1 GiB)"
qemu-system-x86_64 -accel tcg -m 1G -smp 2 -no-reboot -device vmcoreinfo \
    -kernel "$result/img/boot/vmlinuz-$release" -initrd "$result/work/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1" -nographic -monitor none -serial "file:$serial" \
    -qmp "unix:$qmp,server=on,wait=off" </dev/null >"$result/work/qemu.out" 2>&1 &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT
start=$SECONDS
until grep -qa "^VMOWNER-STOCK-READY" "$serial" 2>/dev/null; do
    kill -0 $qemu 2>/dev/null || die "QEMU exited early (see $serial)"
    [ $((SECONDS - start)) -lt 300 ] || die "the guest did not come up within 300 s (see $serial)"
    sleep 1
done
python3 "$here/qmp.py" "$qmp" 600 '{"execute": "stop"}' \
    "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": false, \"protocol\": \"file:$result/vmcore.elf\"}}" \
    '{"execute": "quit"}' >&2 || die "QMP conversation with QEMU failed"
chmod 0644 "$result/vmcore.elf"
tr -d '\r' <"$serial" | sed -n '/^VMOWNER-PAGETYPEINFO-BEGIN$/,/^VMOWNER-PAGETYPEINFO-END$/p' | sed '1d;$d' >"$result/pagetypeinfo.txt"
[ -s "$result/pagetypeinfo.txt" ] || die "the guest printed no /proc/pagetypeinfo (see $serial)"
rm -rf "$result/img" "$result/work"
date -u +%Y-%m-%dT%H:%M:%SZ >"$result/DONE"
log "done in $((SECONDS - start)) s"
echo "$result"
