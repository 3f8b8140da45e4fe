#!/usr/bin/env bash
# vmowner's benchmark: simulated dumps of growing machines (ELF and kdump-lzo), every command
# timed with /usr/bin/time, against the floor the hardware sets on the same files (reading the
# page_ext bytes alone). Usage: scripts/bench.sh [SIZES...]   (default: 1G 16G 64G 256G)
# BENCH_DIR holds the dumps (default /var/tmp/vmowner-bench; 64G needs ~3 GB of disk, 256G ~8 GB).
# The page_owner_sort comparisons run up to 64G (256G's text is 2.6 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1G 16G 64G 256G)
dir="${BENCH_DIR:-/var/tmp/vmowner-bench}"
mkdir -p "$dir"
swift build -c release >/dev/null
bin=.build/release

# One timed run: prints wall, cpu, peak RSS (MB) and output bytes.
measure() {
    local times="$dir/time.txt"
    # Output to /dev/null (what a pipeline reading fast would see); its size from a second run.
    /usr/bin/time -f "%e %U %S %M" -o "$times" "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
    read -r wall user sys rss <"$times"
    echo "$wall $(echo "$user + $sys" | bc) $((rss / 1024)) $("$@" 2>/dev/null | wc -c)"
}

# The kernel's own page_owner_sort (TOOL) and `vmowner sort --text TEXT FLAGS` with each set of
# options: a row each. Usage: sort_rows LABEL TOOL "FLAGS" TEXT "OPTS"...
sort_rows() {
    local label=$1 tool=$2 flags=$3 text=$4 opts wall user sys rss cpu
    shift 4
    for opts in "$@"; do
        /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$tool" $opts "$text" "$dir/sorted.txt" >/dev/null 2>&1 || echo "FAILED: page_owner_sort $opts" >&2
        read -r wall user sys rss <"$dir/time.txt"
        printf '%-10s %-19s %8s %8s %9s   (%s MB of text)\n' "$label" "page_owner_sort $opts" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))" "$(( $(stat -c %s "$text") / 1048576 ))"
        read -r wall cpu rss _ < <(measure $bin/vmowner sort $flags --text "$text" $opts)
        printf '%-10s %-19s %8s %8s %9s\n' "$label" "sort ${flags:+$flags }--text $opts" "$wall" "$cpu" "$rss"
        cmp -s "$dir/sorted.txt" <($bin/vmowner sort $flags --text "$text" $opts) || echo "DIFFERENT: sort $flags $opts" >&2
    done
    rm -f "$dir/sorted.txt"
}

printf '%-10s %-19s %8s %8s %9s %12s %10s %8s\n' dump command wall_s cpu_s rss_MB pages/s out_MB/s x_floor
for size in "${sizes[@]}"; do
  for format in elf kdump-lzo; do
    sim="$dir/$size-$format"
    if [ ! -f "$sim/vmcore" ]; then
        start=$(date +%s.%N)
        $bin/vmsim --seed 7 --memory "$size" --format "$format" --out "$sim" >/dev/null
        echo "vmsim $size $format: $(echo "$(date +%s.%N) - $start" | bc | cut -c1-6) s, vmcore $(du -h --apparent-size "$sim/vmcore" | cut -f1) apparent, $(du -h "$sim/vmcore" | cut -f1) on disk" >&2
    fi
    label="$size-$format"
    files=("$sim/vmlinux" "$sim/vmcore")
    pages=$($bin/vmowner info "${files[@]}" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["memory_bytes"] // 4096)')
    # Warm the page cache first (one untimed walk reads what every command reads): the table
    # compares the tool with the floor, not with the disk.
    $bin/vmowner summary "${files[@]}" >/dev/null
    read -r floor _ _ _ < <(measure $bin/vmowner bench-floor "${files[@]}")
    for cmd in "summary" "stacks" "stacks --from-pages" "stacks --format svg" "stacks --from-pages --format pprof" "page-owner" "sort" "sort -m --cull st" "pfn 0x100000" "info"; do
        read -r sub extra <<<"$cmd"
        read -r wall cpu rss bytes < <(measure $bin/vmowner $sub "${files[@]}" $extra)
        rate=$(echo "$pages / $wall" | bc 2>/dev/null || echo -)
        mbps=$(echo "scale=1; $bytes / 1048576 / $wall" | bc 2>/dev/null || echo -)
        ratio=$(echo "scale=2; $wall / $floor" | bc 2>/dev/null || echo -)
        printf '%-10s %-19s %8s %8s %9s %12s %10s %8s\n' "$label" "$cmd" "$wall" "$cpu" "$rss" "$rate" "$mbps" "$ratio"
    done
    printf '%-10s %-19s %8s\n' "$label" "floor (page_ext read)" "$floor"
    # The kernel's own tools/mm/page_owner_sort (built from Debian's linux-source 6.12) on the
    # page_owner text of the same dump, against `vmowner sort --text` on that text.
    if [ "$format" = elf ] && [ "$size" != 256G ] && tool=$(scripts/page-owner-sort-tool.sh 6.12 2>/dev/null | tail -n 1) && [ -x "$tool" ]; then
        $bin/vmowner page-owner "${files[@]}" >"$dir/page_owner.txt"
        sort_rows "$label" "$tool" "" "$dir/page_owner.txt" "" "-m --cull st"
        rm -f "$dir/page_owner.txt"
    fi
  done
done

# The older page_owner_sort of Linux 6.1 (tools/vm, with free times) against `vmowner sort
# --tool 6.1`, on the text of a simulated 6.1 kernel of the largest size up to 64G.
if tool=$(scripts/page-owner-sort-tool.sh 6.1 2>/dev/null | tail -n 1) && [ -x "$tool" ]; then
    size=${sizes[${#sizes[@]}-1]}
    [ "$size" != 256G ] || size=64G
    sim="$dir/$size-elf-6.1"
    [ -f "$sim/vmcore" ] || $bin/vmsim --seed 7 --memory "$size" --kernel 6.1 --out "$sim" >/dev/null
    $bin/vmowner page-owner "$sim/vmlinux" "$sim/vmcore" >"$dir/page_owner.txt"
    sort_rows "$size-6.1" "$tool" "--tool 6.1" "$dir/page_owner.txt" "" "-a" "-m --cull st" "-f --cull f,st"
    rm -f "$dir/page_owner.txt"
fi

# A real-size debug vmlinux (Debian's stock cloud kernel, ~590 MB; no page_owner there, so
# `pfn` stops once it has opened both files and checked them): start-up from a cold cache.
stock="${VMOWNER_CACHE:-/var/cache/vmowner}/debian-stock"
[ "${BENCH_DEBIAN:-0}" = 1 ] && samples/real-kernel/debian-stock-dump.sh >/dev/null
for d in "$stock"/*/; do
    [ -f "$d/DONE" ] || continue
    for cmd in info "pfn 0x1000"; do
        read -r sub extra <<<"$cmd"
        if [ "$(id -u)" = 0 ]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi
        /usr/bin/time -f "%e %M" -o "$dir/time.txt" $bin/vmowner $sub "$d/vmlinux" "$d/vmcore.elf" $extra >/dev/null 2>&1 || true
        read -r wall rss < <(tail -n 1 "$dir/time.txt")
        printf '%-10s %-19s %8s %8s %9s  (cold cache, %s MB vmlinux)\n' "stock" "$cmd" "$wall" "" "$((rss / 1024))" "$(( $(stat -c %s "$d/vmlinux") / 1048576 ))"
    done
done

# The real-kernel dumps (samples/real-kernel, made by `make test`): each command warm, best of
# three, and the same job as `stacks --from-pages` done by a drgn script the way a drgn user
# writes it (scripts/drgn-stacks.py; drgn from PyPI in a venv made here, never a dependency).
# The ratio is the drgn script's wall time over vmowner's. BENCH_DRGN=0 leaves drgn out.
real="${VMOWNER_CACHE:-/var/cache/vmowner}/real-kernel"
venv="${VMOWNER_CACHE:-/var/cache/vmowner}/drgn-venv"
best_of_three() {
    local best="" wall
    for _ in 1 2 3; do
        /usr/bin/time -f "%e" -o "$dir/time.txt" "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }
        wall=$(tail -n 1 "$dir/time.txt")
        if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc)" = 1 ]; then best=$wall; fi
    done
    echo "$best"
}
if [ "${BENCH_DRGN:-1}" = 1 ] && [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >/dev/null && "$venv/bin/pip" install -q drgn >/dev/null 2>&1 || echo "drgn could not be installed: no drgn column" >&2
fi
for version in 6.12 6.1 6.12-arm64; do
    d="$real/$version"
    [ -f "$d/DONE" ] || continue
    files=("$d/vmlinux" "$d/vmcore.elf")
    for cmd in stacks "stacks --from-pages" "pfn 0x4402" summary page-owner; do
        read -r sub extra <<<"$cmd"
        wall=$(best_of_three $bin/vmowner $sub "${files[@]}" $extra) || continue
        printf '%-10s %-19s %8s\n' "real $version" "$cmd" "$wall"
    done
    if [ "${BENCH_DRGN:-1}" = 1 ] && [ -x "$venv/bin/python" ]; then
        ours=$(best_of_three $bin/vmowner stacks --from-pages "${files[@]}") || continue
        /usr/bin/time -f "%e" -o "$dir/time.txt" "$venv/bin/python" scripts/drgn-stacks.py "${files[@]}" >/dev/null 2>&1 \
            || { echo "FAILED: drgn-stacks.py on $version" >&2; continue; }
        theirs=$(tail -n 1 "$dir/time.txt")
        printf '%-10s %-19s %8s   (drgn script; %sx vmowner stacks --from-pages)\n' "real $version" "drgn-stacks.py" "$theirs" \
            "$(echo "scale=0; $theirs / $ours" | bc 2>/dev/null || echo -)"
    fi
done
