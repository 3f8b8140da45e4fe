#!/usr/bin/env bash
# Builds a small Linux kernel with page_owner from Debian's sources, boots it
# under QEMU, runs a workload, captures what the kernel says about its own
# pages, and dumps guest memory twice (ELF and kdump-zlib).
# 6.12-arm64 is cross-built and booted on qemu-system-aarch64 -M virt; its
# dump is also converted by Debian's arm64 makedumpfile under qemu-user.
#
# Usage: samples/real-kernel/make-dump.sh VERSION [--force]
#   VERSION  6.12 or 6.1 (Debian's linux-source-VERSION package), or 6.12-novmemmap:
#            6.12 with SPARSEMEM but without SPARSEMEM_VMEMMAP (struct pages in
#            per-section arrays, the section number in page->flags), or
#            6.12-arm64: 6.12 for arm64 (4 KiB pages, 48-bit VA), cross-built
#   --force  boot and dump again even if the result folder is complete
#
# Environment:
#   VMOWNER_CACHE         cache root (default /var/cache/vmowner)
#   VMOWNER_BOOT_TIMEOUT  seconds to wait for the guest's marker (default 900)
#   VMOWNER_THRESHOLD     page_owner_stacks count_threshold (default 512)
#
# Progress goes to stderr; the last stdout line is the result folder.
# See README.md next to this script for what lands in that folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[make-dump %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[make-dump] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments
version=""
force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        6.12|6.1|6.12-novmemmap|6.12-arm64) version="$arg" ;;
        -h|--help) sed -n '2,21p' "$0" >&2; exit 0 ;;
        *) die "unknown argument '$arg' (expected 6.12, 6.1, 6.12-novmemmap or 6.12-arm64, optionally --force)" ;;
    esac
done
[ -n "$version" ] || die "usage: $0 VERSION [--force]   (VERSION = 6.12, 6.1, 6.12-novmemmap or 6.12-arm64)"
# A variant is its source version plus one more config fragment.
source_version="${version%%-*}"
variant="${version#"$source_version"}"
# The guest's architecture: what kbuild, QEMU and the initramfs's busybox are built for.
arch=x86_64
[ "$variant" = "-arm64" ] && arch=arm64

cache_root="${VMOWNER_CACHE:-/var/cache/vmowner}/real-kernel"
boot_timeout="${VMOWNER_BOOT_TIMEOUT:-900}"
threshold="${VMOWNER_THRESHOLD:-512}"
case "$boot_timeout$threshold" in *[!0-9]*) die "VMOWNER_BOOT_TIMEOUT and VMOWNER_THRESHOLD must be whole numbers" ;; esac
marker="VMOWNER-CAPTURE-DONE"
fragments=("$here/config/common.config" "$here/config/$source_version.config")
[ -z "$variant" ] || fragments+=("$here/config/${variant#-}.config")
for f in "${fragments[@]}" "$here/fix-page-owner-memcg.py" "$here/guest-init.sh" "$here/qmp.py" "$here/elf-phdrs-at-64.py"; do
    [ -r "$f" ] || die "missing helper file $f"
done

# ---------------------------------------------------------------- packages
# Installs only what is missing, with a single apt-get update.
install_packages() {
    local wanted=(flex bison bc libelf-dev libssl-dev dwarves "linux-source-$source_version"
                  make xz-utils cpio gzip tar)
    if [ "$arch" = arm64 ]; then
        wanted+=(qemu-system-arm gcc-aarch64-linux-gnu qemu-user-static)
    else
        wanted+=(qemu-system-x86 busybox-static)
    fi
    local missing=() p
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq || die "apt-get update failed"
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install failed for: ${missing[*]}"
}

# The arm64 guest's busybox and the arm64 makedumpfile (run under qemu-user) with its
# libraries, unpacked into a folder of their own. Never `apt-get install` busybox-static:arm64
# or makedumpfile:arm64: they are not Multi-Arch: same, so apt would replace the host's amd64
# packages. The .deb files are fetched once; the folder is named by their checksums.
arm64_debs=(busybox-static makedumpfile libc6 libgcc-s1 libdw1 libelf1 liblzo2-2 zlib1g libbz2-1.0 liblzma5)
fetch_arm64_userland() {
    local debs="$cache_root/arm64-debs" missing=() p
    mkdir -p "$debs"
    for p in "${arm64_debs[@]}"; do
        compgen -G "$debs/${p}_*_arm64.deb" >/dev/null || missing+=("$p:arm64")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "downloading ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        if ! dpkg --print-foreign-architectures | grep -qx arm64; then
            $sudo dpkg --add-architecture arm64 || die "dpkg --add-architecture arm64 failed"
        fi
        $sudo apt-get update -qq || die "apt-get update failed"
        (cd "$debs" && apt-get download -qq "${missing[@]}") >&2 || die "apt-get download failed for: ${missing[*]}"
    fi
    local key
    key="$(for p in "${arm64_debs[@]}"; do sha256sum "$debs/${p}"_*_arm64.deb; done | cut -c1-64 | sha256sum | cut -c1-12)"
    arm64_root="$cache_root/arm64-root-$key"
    if [ ! -f "$arm64_root/READY" ]; then
        rm -rf "$arm64_root"
        for p in "${arm64_debs[@]}"; do
            dpkg-deb -x "$debs/${p}"_*_arm64.deb "$arm64_root" || die "could not unpack ${p}:arm64"
        done
        [ -x "$arm64_root/bin/busybox" ] && [ -x "$arm64_root/usr/bin/makedumpfile" ] \
            || die "the arm64 packages lack bin/busybox or usr/bin/makedumpfile"
        touch "$arm64_root/READY"
    fi
}

# ---------------------------------------------------------------- kernel build
# The build is keyed only by what changes the kernel (config fragments, the
# source fix and the source tarball), so editing the boot part of this script
# does not rebuild the kernel.
tarball="/usr/src/linux-source-$source_version.tar.xz"

hash_of() { cat "$@" | sha256sum | cut -c1-12; }

# What kbuild is told and what it leaves to boot, per architecture. The source is built in
# its own unpacked tree per build folder, so arm64 never shares a tree with x86.
if [ "$arch" = arm64 ]; then
    kbuild_arch=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
    image_target=Image
    image_path=arch/arm64/boot/Image
    qemu=qemu-system-aarch64
else
    qemu=qemu-system-x86_64
    kbuild_arch=()
    image_target=bzImage
    image_path=arch/x86/boot/bzImage
fi

build_kernel() {
    [ -r "$tarball" ] || die "$tarball not found (is linux-source-$source_version installed?)"
    local build_key
    build_key="$( { cat "${fragments[@]}" "$here/fix-page-owner-memcg.py"; stat -c '%s %Y' "$tarball"; } | sha256sum | cut -c1-12)"
    build_dir="$cache_root/build/$version-$build_key"
    src="$build_dir/linux-source-$source_version"
    if [ -s "$src/vmlinux" ] && [ -s "$src/$image_path" ] && [ -s "$src/drivers/block/brd.ko" ]; then
        log "kernel already built in $src"
        return 0
    fi
    mkdir -p "$build_dir"
    if [ ! -f "$build_dir/UNPACKED" ]; then
        log "unpacking $tarball"
        rm -rf "$src"
        tar -C "$build_dir" -xJf "$tarball" || die "could not unpack $tarball"
        [ -f "$src/Makefile" ] || die "unexpected tarball layout: no $src/Makefile"
        touch "$build_dir/UNPACKED"
    fi
    python3 "$here/fix-page-owner-memcg.py" "$src" >&2 || die "source fix failed"

    log "configuring (tinyconfig + ${fragments[*]##*/})"
    local mk=(nice -n 10 make -C "$src" -j2 "${kbuild_arch[@]}")
    "${mk[@]}" tinyconfig >"$build_dir/config.log" 2>&1 || die "make tinyconfig failed, see $build_dir/config.log"
    # Twice: some options only become visible after the first round enabled their parents.
    local round
    for round in 1 2; do
        (cd "$src" && scripts/kconfig/merge_config.sh -m .config "${fragments[@]}") >>"$build_dir/config.log" 2>&1 \
            || die "merge_config.sh failed, see $build_dir/config.log"
        "${mk[@]}" olddefconfig >>"$build_dir/config.log" 2>&1 || die "make olddefconfig failed"
    done
    check_config "$src/.config"

    log "building $image_target + modules (nice -n 10, -j2; about 7 minutes; log: $build_dir/build.log)"
    local start=$SECONDS
    if ! "${mk[@]}" "$image_target" modules >"$build_dir/build.log" 2>&1; then
        tail -n 30 "$build_dir/build.log" >&2
        die "kernel build failed, see $build_dir/build.log"
    fi
    log "kernel built in $((SECONDS - start)) s"
    [ -s "$src/drivers/block/brd.ko" ] || die "build finished but brd.ko is missing"
}

# Every option the fragments ask for must have survived olddefconfig.
# A later fragment's line for an option replaces an earlier one, as in merge_config.sh.
check_config() {
    local config="$1" line name bad=0
    local -A wanted=()
    local order=()
    while IFS= read -r line; do
        case "$line" in
            CONFIG_*=*) name="${line%%=*}" ;;
            "# CONFIG_"*" is not set") name="${line#\# }"; name="${name%% *}" ;;
            *) continue ;;
        esac
        [ -n "${wanted[$name]+set}" ] || order+=("$name")
        wanted[$name]="$line"
    done < <(cat "${fragments[@]}")
    for name in "${order[@]}"; do
        line="${wanted[$name]}"
        case "$line" in
            CONFIG_*=*)
                grep -qxF "$line" "$config" || { log "config: wanted '$line', got '$(grep -E "^(# )?${line%%=*}[= ]" "$config" || echo unset)'"; bad=1; } ;;
            *)
                if grep -qE "^$name=" "$config"; then log "config: wanted $name off, got '$(grep -E "^$name=" "$config")'"; bad=1; fi ;;
        esac
    done
    # Options selected rather than asked for, that the dump depends on.
    for name in CONFIG_STACKDEPOT CONFIG_PAGE_EXTENSION; do
        grep -qx "$name=y" "$config" || { log "config: $name is not enabled"; bad=1; }
    done
    grep -qxE "CONFIG_(VMCORE_INFO|CRASH_CORE)=y" "$config" || { log "config: neither VMCORE_INFO nor CRASH_CORE is enabled"; bad=1; }
    [ $bad -eq 0 ] || die "the kernel configuration is missing options (see above)"
}

# ---------------------------------------------------------------- initramfs
make_initramfs() {
    local root="$work/initramfs"
    rm -rf "$root"
    mkdir -p "$root"/{bin,proc,sys,dev,tmp,root}
    if [ "$arch" = arm64 ]; then
        cp "$arm64_root/bin/busybox" "$root/bin/busybox"
    else
        cp /bin/busybox "$root/bin/busybox"
    fi
    sed -e "s/@THRESHOLD@/$threshold/g" -e "s/@MARKER@/$marker/g" "$here/guest-init.sh" >"$root/init"
    chmod 755 "$root/init"
    cp "$src/drivers/block/brd.ko" "$root/brd.ko"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initramfs.cpio.gz" \
        || die "could not build the initramfs"
}

# ---------------------------------------------------------------- boot + dump
qemu_pid=""
stop_qemu() {
    if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    qemu_pid=""
}
trap stop_qemu EXIT

boot_and_dump() {
    local serial="$result/serial.log" qmp="$work/qmp.sock"
    rm -f "$serial" "$qmp" "$result/vmcore.elf" "$result/vmcore.kdump-zlib" "$result/DONE"
    # vda: a small swap disk; vdb: the raw disk the guest writes its captures onto.
    truncate -s 0 "$work/swap.img" "$work/capture.img"
    truncate -s 64M "$work/swap.img"
    truncate -s 128M "$work/capture.img"
    local cmdline machine
    if [ "$arch" = arm64 ]; then
        # virt: RAM from PA 0x40000000, a PL011 console, PCIe; KASLR's seed comes from the
        # device tree. cortex-a57 has no pointer authentication (and this config none either).
        cmdline="console=ttyAMA0 page_owner=on panic=-1"
        machine=(-M virt -cpu cortex-a57)
    else
        # no_timer_check: on a busy host the TCG guest's IO-APIC timer test can time out and panic.
        cmdline="console=ttyS0 page_owner=on panic=-1 no_timer_check"
        machine=()
    fi
    echo "$cmdline" >"$result/cmdline.txt"
    log "booting under $qemu (TCG, 1 GiB, 2 vCPUs); serial log: $serial"
    local command=(nice -n 10 "$qemu" "${machine[@]}" -accel tcg -m 1G -smp 2 -no-reboot
        -device vmcoreinfo
        -kernel "$src/$image_path" -initrd "$work/initramfs.cpio.gz"
        -append "$cmdline"
        -drive "file=$work/swap.img,format=raw,if=virtio"
        -drive "file=$work/capture.img,format=raw,if=virtio"
        -nographic -monitor none -serial "file:$serial"
        -qmp "unix:$qmp,server=on,wait=off")
    (printf '%q ' "${command[@]}"; echo) >"$result/qemu-command.txt"
    "${command[@]}" </dev/null >"$work/qemu.out" 2>&1 &
    qemu_pid=$!

    local start=$SECONDS
    while ! grep -qa "^$marker" "$serial" 2>/dev/null; do
        if ! kill -0 "$qemu_pid" 2>/dev/null; then
            tail -n 40 "$serial" >&2 2>/dev/null || true
            cat "$work/qemu.out" >&2
            die "QEMU exited before the guest printed $marker (see $serial)"
        fi
        if grep -qa "Kernel panic" "$serial" 2>/dev/null; then
            tail -n 40 "$serial" >&2
            die "the guest kernel panicked (see $serial)"
        fi
        if [ $((SECONDS - start)) -ge "$boot_timeout" ]; then
            tail -n 20 "$serial" >&2
            die "guest did not print $marker within $boot_timeout s (VMOWNER_BOOT_TIMEOUT; see $serial)"
        fi
        sleep 1
    done
    log "guest finished its capture after $((SECONDS - start)) s; stopping it and dumping memory"
    python3 "$here/qmp.py" "$qmp" 600 \
        '{"execute": "stop"}' \
        "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": false, \"protocol\": \"file:$result/vmcore.elf\"}}" \
        "{\"execute\": \"dump-guest-memory\", \"arguments\": {\"paging\": false, \"protocol\": \"file:$result/vmcore.kdump-zlib\", \"format\": \"kdump-zlib\"}}" \
        '{"execute": "quit"}' >&2 || die "QMP conversation with QEMU failed"

    local waited=0
    while kill -0 "$qemu_pid" 2>/dev/null && [ $waited -lt 30 ]; do sleep 1; waited=$((waited + 1)); done
    stop_qemu
    log "boot + dump took $((SECONDS - start)) s"

    # A kernel oops while reading page_owner kills the reader, not the guest: fail on it.
    if grep -qaE "Oops|BUG:|WARNING:|Call Trace" "$serial"; then
        grep -naE "Oops|BUG:|WARNING:" "$serial" | head -n 5 >&2
        die "the guest kernel reported a problem (see $serial); result left incomplete"
    fi
    [ -s "$result/vmcore.elf" ] || die "vmcore.elf was not written"
    [ -s "$result/vmcore.kdump-zlib" ] || die "vmcore.kdump-zlib was not written"
    # QEMU creates its dumps owner-read-only; the dumps hold nothing secret.
    chmod 0644 "$result/vmcore.elf" "$result/vmcore.kdump-zlib"
}

# Debian's amd64 makedumpfile reads x86_64 dumps only (its architecture is fixed when it is
# built), so the tests convert x86 dumps themselves; an arm64 dump is converted here, once, by
# Debian's arm64 makedumpfile under qemu-user (3 to 10 s a file), with the options the tests
# use on x86 but -E without -d (a second 1 GiB ELF). NAME:OPTIONS; -F writes to stdout.
makedumpfile_conversions=("c:-c" "l:-l" "F:-F" "c-d31:-c -d 31" "l-d31:-l -d 31" "E-d31:-E -d 31" "F-d31:-F -d 31")
convert_with_makedumpfile() {
    local out="$result/makedumpfile" fixed="$work/vmcore-phdrs-at-64.elf" conversion name options start
    rm -rf "$out"
    mkdir -p "$out"
    python3 "$here/elf-phdrs-at-64.py" "$result/vmcore.elf" "$fixed" || die "could not move the ELF program headers"
    local makedumpfile=(nice -n 10 qemu-aarch64-static -L "$arm64_root" "$arm64_root/usr/bin/makedumpfile")
    for conversion in "${makedumpfile_conversions[@]}"; do
        name="${conversion%%:*}"
        read -ra options <<<"${conversion#*:}"
        start=$SECONDS
        if [ "${options[0]}" = -F ]; then
            "${makedumpfile[@]}" "${options[@]}" "$fixed" >"$out/$name" 2>>"$work/makedumpfile.log"
        else
            "${makedumpfile[@]}" -f "${options[@]}" "$fixed" "$out/$name" >>"$work/makedumpfile.log" 2>&1
        fi || { tail -n 20 "$work/makedumpfile.log" >&2; die "makedumpfile ${options[*]} failed (see $work/makedumpfile.log)"; }
        log "makedumpfile ${options[*]}: $(stat -c %s "$out/$name") bytes in $((SECONDS - start)) s"
    done
    rm -f "$fixed"
    chmod 0644 "$out"/*
}

# The dump's VMCOREINFO note as text (the kernel's own description of its layout), for
# people and for the tests to hold vmowner's info against.
save_vmcoreinfo() {
    python3 - "$result/vmcore.elf" >"$result/vmcoreinfo.txt" <<'NOTE' || die "no VMCOREINFO note in $result/vmcore.elf"
import struct, sys
with open(sys.argv[1], "rb") as f:
    header = f.read(64)
    phoff = struct.unpack_from("<Q", header, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", header, 54)
    f.seek(phoff)
    phdrs = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", phdrs, i * phentsize)
        if p_type != 4:                     # PT_NOTE
            continue
        f.seek(p_offset)
        notes = f.read(p_filesz)
        at = 0
        while at + 12 <= len(notes):
            namesz, descsz, _ = struct.unpack_from("<III", notes, at)
            desc = at + 12 + (namesz + 3) // 4 * 4
            if notes[at + 12:at + 12 + namesz].rstrip(b"\0") == b"VMCOREINFO":
                sys.stdout.write(notes[desc:desc + descsz].rstrip(b"\0").decode())
                sys.exit(0)
            at = desc + (descsz + 3) // 4 * 4
sys.exit("no VMCOREINFO note")
NOTE
}

extract_capture() {
    local dir="$result/captured"
    rm -rf "$dir"
    mkdir -p "$dir"
    # The slots guest-init.sh wrote, in MiB: name, offset, size. Each is cut at its first NUL.
    python3 - "$work/capture.img" "$dir" <<'SLOTS' || die "could not read the capture disk"
import os, sys
image, out = sys.argv[1], sys.argv[2]
slots = [("version.txt", 0, 1), ("modules.txt", 1, 1), ("meminfo.txt", 2, 1),
         ("pagetypeinfo.txt", 3, 1), ("buddyinfo.txt", 4, 1), ("zoneinfo.txt", 5, 1),
         ("vmstat.txt", 6, 1), ("count_threshold", 7, 1), ("allocinfo.txt", 8, 8),
         ("show_stacks.txt", 16, 8), ("show_stacks_threshold.txt", 24, 8), ("page_owner.txt", 32, 96)]
with open(image, "rb") as disk:
    for name, offset, size in slots:
        disk.seek(offset << 20)
        data = disk.read(size << 20).split(b"\0", 1)[0]
        if data:
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
SLOTS

    local needed=(page_owner.txt pagetypeinfo.txt modules.txt version.txt meminfo.txt)
    [ "$source_version" = "6.12" ] && needed+=(show_stacks.txt show_stacks_threshold.txt count_threshold allocinfo.txt)
    for f in "${needed[@]}"; do
        [ -s "$dir/$f" ] || die "the guest's capture lacks $f"
    done
}

# Quick sanity numbers, so a human sees at once whether the workload showed up.
summarize() {
    local dir="$result/captured" po="$result/captured/page_owner.txt"
    log "kernel: $(cat "$dir/version.txt")"
    log "page_owner records: $(grep -c '^Page allocated via order' "$po")"
    log "records with comm dd: $(grep -c ', tgid [0-9]* (dd)' "$po" || true)"
    log "pages charged to memcg work: $(grep -c 'Charged to memcg work' "$po" || true)"
    log "records with [brd] frames: $(awk '/^Page allocated/{r=0} /\[brd\]/{if(!r){n++;r=1}} END{print n+0}' "$po")"
    if [ -f "$dir/show_stacks.txt" ]; then
        log "show_stacks: $(grep -c '^nr_base_pages' "$dir/show_stacks.txt" || true) stacks; with count_threshold $threshold: $(grep -c '^nr_base_pages' "$dir/show_stacks_threshold.txt" || true)"
    fi
}

# ---------------------------------------------------------------- main
install_packages
[ "$arch" != arm64 ] || fetch_arm64_userland
build_kernel

result_key="$(hash_of "${fragments[@]}" "$here/fix-page-owner-memcg.py" "$0" "$here/guest-init.sh" "$here/qmp.py" "$here/elf-phdrs-at-64.py")"
result="$cache_root/$version-$result_key"
work="$result/work"
if [ -f "$result/DONE" ] && [ $force -eq 0 ]; then
    log "result already complete (use --force to boot again)"
else
    mkdir -p "$work"
    make_initramfs
    boot_and_dump
    save_vmcoreinfo
    extract_capture
    [ "$arch" != arm64 ] || convert_with_makedumpfile
    # Hard links save 100+ MB when the cache is on one filesystem.
    ln -f "$src/vmlinux" "$result/vmlinux" 2>/dev/null || cp "$src/vmlinux" "$result/vmlinux"
    cp "$src/.config" "$result/kernel.config"
    make -s -C "$src" kernelversion >"$result/kernelversion.txt"
    "$qemu" --version | head -n 1 >"$result/qemu-version.txt"
    rm -f "$work/swap.img" "$work/capture.img"
    summarize
    date -u +%Y-%m-%dT%H:%M:%SZ >"$result/DONE"
fi
ln -sfn "$(basename "$result")" "$cache_root/$version"
echo "$result"
