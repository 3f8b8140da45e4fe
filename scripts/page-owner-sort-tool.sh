#!/bin/sh
# Builds the kernel's own tools/mm/page_owner_sort from Debian's linux-source package (the
# reference `vmowner sort` is compared with) and prints the binary's path on its last line.
#
#   scripts/page-owner-sort-tool.sh [6.12|6.1]
#
# 6.1's is the older generation of the tool (with free times) that `vmowner sort --tool 6.1`
# follows; the source lies next to the binary.
#
# The build lands in a cache folder named after the source tarball's hash, so it happens once
# per tarball. Only tools/mm/page_owner_sort.c is taken out of the tarball; it needs nothing
# but libc and <linux/types.h> (linux-libc-dev).
set -eu

version=${1:-6.12}
tarball=/usr/src/linux-source-$version.tar.xz
cache=${VMOWNER_CACHE:-/var/cache/vmowner}/page_owner_sort

if [ ! -f "$tarball" ]; then
    echo "installing linux-source-$version (for $tarball)" >&2
    apt-get install -y "linux-source-$version" >&2 || { apt-get update >&2 && apt-get install -y "linux-source-$version" >&2; }
fi
# The hash of the tarball names the build; a stamp keyed by size and mtime saves hashing
# 150 MB on every call.
stamp="$cache/$(stat -c '%s-%Y' "$tarball")-$version.hash"
if [ -f "$stamp" ]; then
    hash=$(cat "$stamp")
else
    hash=$(sha256sum "$tarball" | cut -c1-16)
    mkdir -p "$cache"
    echo "$hash" > "$stamp"
fi
dir="$cache/$version-$hash"
if [ ! -x "$dir/page_owner_sort" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # tools/vm in 6.1, tools/mm after the rename (6.3).
    tar -xJf "$tarball" -C "$work" --wildcards '*/tools/mm/page_owner_sort.c' '*/tools/vm/page_owner_sort.c' 2>/dev/null || true
    source=$(find "$work" -name page_owner_sort.c | head -1)
    [ -n "$source" ] || { echo "no page_owner_sort.c in $tarball" >&2; exit 1; }
    mkdir -p "$dir"
    gcc -O2 -o "$dir/page_owner_sort.tmp" "$source"
    cp "$source" "$dir/page_owner_sort.c"
    mv "$dir/page_owner_sort.tmp" "$dir/page_owner_sort"
fi
echo "$dir/page_owner_sort"
