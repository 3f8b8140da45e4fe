#!/usr/bin/env python3
"""Lists in-place patches of a vmlinux's DWARF that push one layout number out of range.

For every struct/union/enum the reader resolves (TYPES, ENUMERATORS below), each member
offset, byte size, bit size/offset, array bound and enumerator value gets one patch: the
largest value its form can hold (the most negative one for signed forms); enumerators and bit
positions get a second one with only the top bit set (the most negative value if read signed). Values stored as
DW_FORM_implicit_const live in .debug_abbrev and are shared by every DIE of that abbreviation.

Output, one patch a line: FILE_OFFSET HEX_BYTES LABEL (the corruption matrix applies each one
to its own copy of the vmlinux). Needs pyelftools (`pip install pyelftools`).
Usage: dwarf-hostile-patches.py VMLINUX
"""
import sys

from elftools.elf.elffile import ELFFile

# The structs and unions Sources/DepotWalker and Sources/ELFCore resolve by name (grep
# structType/unionType there), and the enumerators they read.
TYPES = {
    "page", "page_owner", "page_ext", "page_ext_operations", "mem_section", "mem_section_usage",
    "stack_record", "stack", "handle_parts", "pglist_data", "zone", "free_area", "xarray", "xa_node",
    "idr", "mem_cgroup", "cgroup", "cgroup_subsys_state", "kernfs_node", "obj_cgroup", "module",
    "module_memory", "module_layout", "mod_kallsyms", "alloc_tag", "alloc_tag_counters", "codetag",
    "codetag_type", "codetag_module", "codetag_range", "codetag_type_desc", "static_key",
    "trace_print_flags", "swap_page_owner", "ptdesc", "list_head", "refcount_struct",
}
ENUMERATORS = {
    "___GFP_RECLAIMABLE_BIT", "___GFP_MOVABLE_BIT", "__NR_PAGEFLAGS", "__NR_PAGEBLOCK_BITS",
    "__NR_OBJEXTS_FLAGS", "__NR_MEMCG_DATA_FLAGS", "__MAX_NR_ZONES", "SECTION_MAP_LAST_BIT",
    "SECTION_IS_EARLY_BIT", "SECTION_HAS_MEM_MAP_BIT", "SECTION_MARKED_PRESENT_BIT",
    "SECTION_IS_ONLINE_BIT", "PG_reserved", "PG_buddy", "PGTY_buddy", "PB_migrate_isolate",
    "PAGE_EXT_OWNER_SWAPPED", "PAGE_EXT_OWNER_ALLOCATED", "PAGE_EXT_OWNER", "N_MEMORY",
    "NR_PAGEBLOCK_BITS", "MOD_TEXT", "MOD_MEM_NUM_TYPES", "MOD_INIT_TEXT", "MIGRATE_UNMOVABLE",
    "MIGRATE_RECLAIMABLE", "MIGRATE_MOVABLE", "MIGRATE_PCPTYPES", "MIGRATE_HIGHATOMIC",
    "MIGRATE_ISOLATE", "MIGRATE_CMA", "MIGRATE_TYPES", "MEMCG_DATA_OBJEXTS", "MEMCG_DATA_OBJCGS",
    "MEMCG_DATA_KMEM", "CSS_ONLINE", "MR_COMPACTION", "MR_TYPES",
}
NUMBERS = {"DW_AT_data_member_location", "DW_AT_byte_size", "DW_AT_bit_size", "DW_AT_data_bit_offset",
           "DW_AT_bit_offset", "DW_AT_const_value", "DW_AT_upper_bound", "DW_AT_count"}
FIXED = {"DW_FORM_data1": 1, "DW_FORM_data2": 2, "DW_FORM_data4": 4, "DW_FORM_data8": 8}


def leb_length(data, at):
    n = 1
    while data[at + n - 1] & 0x80:
        n += 1
    return n


def widest_uleb(n):
    """The largest value that fits the same n LEB128 bytes."""
    return bytes([0xff] * (n - 1) + [0x7f])


def most_negative_sleb(n):
    """The most negative value that fits the same n signed LEB128 bytes."""
    return bytes([0x80] * (n - 1) + [0x40])


def name_of(die):
    a = die.attributes.get("DW_AT_name")
    return a.value.decode(errors="replace") if a else ""


class Patcher:
    def __init__(self, elf):
        self.elf = elf
        self.info_offset = elf.get_section_by_name(".debug_info")["sh_offset"]
        self.info_bytes = elf.get_section_by_name(".debug_info").data()
        abbrev = elf.get_section_by_name(".debug_abbrev")
        self.abbrev_offset = abbrev["sh_offset"]
        self.abbrev_bytes = abbrev.data()
        self.seen = set()
        self.implicit = {}   # (abbrev table offset, code, attribute name) -> label of first user

    def emit(self, at, data, label):
        if (at, data) in self.seen:
            return
        self.seen.add((at, data))
        print(f"{at} {data.hex()} {label}")

    def attribute(self, cu, die, attr, label):
        form = attr.form
        # pyelftools' offset is the attribute's value within .debug_info.
        at = attr.offset
        if form in FIXED:
            n = FIXED[form]
            signed_enum = attr.name == "DW_AT_const_value" and attr.value < 0
            if signed_enum:
                # A negative enumerator: the most positive value instead.
                data = bytes([0xff] * (n - 1) + [0x7f])
            else:
                data = bytes([0xff] * n)
            self.emit(self.info_offset + at, data, f"{label} {attr.name}={attr.value} {form}->max")
            if attr.name in ("DW_AT_const_value", "DW_AT_bit_size", "DW_AT_data_bit_offset", "DW_AT_bit_offset"):
                # Only the top bit: 2^(8n-1), or its negative where the value is read as signed.
                self.emit(self.info_offset + at, bytes([0] * (n - 1) + [0x80]), f"{label} {attr.name}={attr.value} {form}->top bit")
        elif form == "DW_FORM_udata":
            n = leb_length(self.info_bytes, at)
            self.emit(self.info_offset + at, widest_uleb(n), f"{label} {attr.name}={attr.value} {form}->max")
        elif form == "DW_FORM_sdata":
            n = leb_length(self.info_bytes, at)
            self.emit(self.info_offset + at, most_negative_sleb(n), f"{label} {attr.name}={attr.value} {form}->negative")
        elif form == "DW_FORM_implicit_const":
            self.implicit.setdefault((cu.cu_header["debug_abbrev_offset"], die.abbrev_code, attr.name),
                                     f"{label} {attr.name}={attr.value}")

    def numbers(self, cu, die, label):
        for attr in die.attributes.values():
            if attr.name in NUMBERS:
                self.attribute(cu, die, attr, label)

    def aggregate(self, cu, die, label, depth=0):
        self.numbers(cu, die, label)
        for child in die.iter_children():
            if child.tag != "DW_TAG_member":
                continue
            member = f"{label}.{name_of(child) or '<anon>'}"
            self.numbers(cu, child, member)
            target = child.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in child.attributes else None
            while target is not None and target.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type"):
                target = target.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in target.attributes else None
            if target is None:
                continue
            if target.tag == "DW_TAG_array_type":
                for sub in target.iter_children():
                    if sub.tag == "DW_TAG_subrange_type":
                        self.numbers(cu, sub, f"{member}[]")
            elif target.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and not name_of(target) and depth < 4:
                self.aggregate(cu, target, member, depth + 1)

    def run(self):
        for cu in self.elf.get_dwarf_info().iter_CUs():
            for die in cu.iter_DIEs():
                if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
                    if name_of(die) in TYPES and "DW_AT_declaration" not in die.attributes:
                        kind = "struct" if die.tag == "DW_TAG_structure_type" else "union"
                        self.aggregate(cu, die, f"{kind} {name_of(die)}")
                elif die.tag == "DW_TAG_enumerator" and name_of(die) in ENUMERATORS:
                    self.numbers(cu, die, f"enumerator {name_of(die)}")
                elif die.tag == "DW_TAG_base_type" and name_of(die) in ("unsigned int", "long unsigned int", "unsigned char", "short unsigned int", "int", "long int"):
                    self.numbers(cu, die, f"base type {name_of(die)}")
        self.implicit_constants()

    def implicit_constants(self):
        """Finds each wanted DW_FORM_implicit_const value in .debug_abbrev and patches it."""
        wanted = self.implicit
        tables = {table for (table, _, _) in wanted}
        data = self.abbrev_bytes
        for table in tables:
            at = table
            while at < len(data):
                code, at = uleb(data, at)
                if code == 0:
                    break
                _, at = uleb(data, at)   # tag
                at += 1                  # children
                while True:
                    name, at = uleb(data, at)
                    form, at = uleb(data, at)
                    if name == 0 and form == 0:
                        break
                    if form == 0x21:     # DW_FORM_implicit_const
                        n = leb_length(data, at)
                        key = (table, code, ATTRIBUTE_NAMES.get(name))
                        if key in wanted:
                            self.emit(self.abbrev_offset + at, most_negative_sleb(n),
                                      f"{wanted[key]} implicit_const (abbrev {code}, shared)->negative")
                        at += n


ATTRIBUTE_NAMES = {0x38: "DW_AT_data_member_location", 0x0b: "DW_AT_byte_size", 0x0d: "DW_AT_bit_size",
                   0x6b: "DW_AT_data_bit_offset", 0x0c: "DW_AT_bit_offset", 0x1c: "DW_AT_const_value",
                   0x2f: "DW_AT_upper_bound", 0x37: "DW_AT_count"}


def uleb(data, at):
    value, shift = 0, 0
    while True:
        b = data[at]
        at += 1
        value |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def main():
    with open(sys.argv[1], "rb") as f:
        Patcher(ELFFile(f)).run()


if __name__ == "__main__":
    main()
