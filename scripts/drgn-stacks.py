#!/usr/bin/env python3
# The job of `vmowner stacks --from-pages` done the way a drgn user would write it: walk every
# pfn's page_ext, count the allocated pages per page_owner stack handle, fetch each stack from
# the stack depot with drgn's stack_depot_fetch and symbolize it. scripts/bench.sh times it
# against vmowner on the real-kernel dumps; drgn comes from PyPI into a private venv that only
# the benchmark makes (a comparison, never a dependency).
#
#   drgn-stacks.py VMLINUX VMCORE   ->  "PAGES HANDLE" lines, then each stack, largest first
import sys

from drgn import Object, Program
from drgn.helpers.linux.stackdepot import stack_depot_fetch


def main(vmlinux, vmcore):
    prog = Program()
    prog.set_core_dump(vmcore)
    prog.load_debug_info([vmlinux])

    ext_size = prog["page_ext_size"].value_()
    owner_offset = prog["page_owner_ops"].offset.value_()
    owner_type = prog.type("struct page_owner")
    flag_owner = prog["PAGE_EXT_OWNER"].value_()
    flag_allocated = prog["PAGE_EXT_OWNER_ALLOCATED"].value_()
    sections = prog["mem_section"]
    # SECTION_SIZE_BITS and PAGE_SHIFT are macros, not in the DWARF: x86_64's values.
    section_shift = 27 - 12
    per_root = 4096 // prog.type("struct mem_section").size    # SECTIONS_PER_ROOT

    pages = {}
    for pfn in range(prog["min_low_pfn"].value_(), prog["max_pfn"].value_()):
        nr = pfn >> section_shift
        root = sections[nr // per_root]
        if not root:
            continue
        section = root[nr % per_root]
        base = section.page_ext.value_()
        if base == 0 or base & 1:
            continue
        ext = Object(prog, "struct page_ext", address=base + pfn * ext_size)
        try:
            flags = ext.flags.value_()
        except Exception:
            continue
        if not (flags >> flag_owner) & 1 or not (flags >> flag_allocated) & 1:
            continue
        owner = Object(prog, owner_type, address=base + pfn * ext_size + owner_offset)
        handle = owner.handle.value_()
        pages[handle] = pages.get(handle, 0) + 1

    for handle, count in sorted(pages.items(), key=lambda item: (-item[1], item[0])):
        print(count, handle)
        try:
            print(stack_depot_fetch(Object(prog, "depot_stack_handle_t", handle)))
        except Exception as error:
            print(f" (stack unreadable: {error})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: drgn-stacks.py VMLINUX VMCORE")
    main(sys.argv[1], sys.argv[2])
