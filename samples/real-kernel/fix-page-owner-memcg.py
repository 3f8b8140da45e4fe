#!/usr/bin/env python3
"""Fix print_page_owner_memcg in a Linux source tree (Debian 6.12.x).

Some 6.12 kernels read page->memcg_data in mm/page_owner.c as if it always
held an obj_cgroup pointer. That is only true when MEMCG_DATA_KMEM is set;
for user and shmem pages the value points at the mem_cgroup itself, so
reading /sys/kernel/debug/page_owner oopses once such a page is charged to a
non-root cgroup. This rewrites the two offending lines so that only KMEM
values are resolved through obj_cgroup_memcg().

Usage: fix-page-owner-memcg.py SOURCE_TREE
Prints what it did; exits 0 when the tree is fixed or never had the bug.
"""
import sys
from pathlib import Path

BUGGY = (
    "\tobjcg = (void *)(memcg_data & ~OBJEXTS_FLAGS_MASK);\n"
    "\tmemcg = objcg ? obj_cgroup_memcg(objcg) : NULL;\n"
)
FIXED = (
    "\t/* vmowner: only KMEM values are obj_cgroups; others are the memcg. */\n"
    "\tif (memcg_data & MEMCG_DATA_KMEM) {\n"
    "\t\tobjcg = (void *)(memcg_data & ~OBJEXTS_FLAGS_MASK);\n"
    "\t\tmemcg = objcg ? obj_cgroup_memcg(objcg) : NULL;\n"
    "\t} else {\n"
    "\t\tmemcg = (void *)(memcg_data & ~OBJEXTS_FLAGS_MASK);\n"
    "\t}\n"
)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(sys.argv[1]) / "mm" / "page_owner.c"
    text = path.read_text()
    if FIXED in text:
        print(f"{path}: already fixed")
        return 0
    count = text.count(BUGGY)
    if count == 0:
        print(f"{path}: pattern not present, nothing to fix")
        return 0
    if count != 1:
        print(f"{path}: pattern found {count} times, refusing to guess", file=sys.stderr)
        return 1
    path.write_text(text.replace(BUGGY, FIXED))
    print(f"{path}: fixed print_page_owner_memcg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
