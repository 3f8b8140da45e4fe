#!/usr/bin/env python3
"""Seed corpora for `make fuzz`, cut from vmsim dumps so that each input is a few KB.

usage: fuzz-seeds.py SIMDIR OUT
SIMDIR holds vmsim output folders elf/, kdump-zlib/, kdump-lzo/, kdump-snappy/, kdump-zstd/,
flat/ (see scripts/fuzz.sh); OUT receives one folder of inputs per target.
"""
import os
import struct
import subprocess
import sys

PAGE = 4096


def u32(b, at): return struct.unpack_from("<I", b, at)[0]
def u64(b, at): return struct.unpack_from("<Q", b, at)[0]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def elf_notes(core):
    """The PT_NOTE bytes of an ELF core."""
    phoff, phentsize, phnum = u64(core, 32), struct.unpack_from("<H", core, 54)[0], struct.unpack_from("<H", core, 56)[0]
    for i in range(phnum):
        h = phoff + i * phentsize
        if u32(core, h) == 4:
            return core[u64(core, h + 8):u64(core, h + 8) + u64(core, h + 32)]
    return b""


def vmcoreinfo(notes):
    at = 0
    while at + 12 <= len(notes):
        namesz, descsz = u32(notes, at), u32(notes, at + 4)
        name = notes[at + 12:at + 12 + namesz].rstrip(b"\0")
        desc = at + 12 + ((namesz + 3) & ~3)
        if name == b"VMCOREINFO":
            return notes[desc:desc + descsz]
        at = desc + ((descsz + 3) & ~3)
    return b""


def cut_elf(core, pages_per_load=2, max_loads=8):
    """ELF header, program headers, the notes, and the first pages of each PT_LOAD (filesz
    shrinks, memsz stays: the rest reads as excluded)."""
    phoff, phentsize, phnum = u64(core, 32), struct.unpack_from("<H", core, 54)[0], struct.unpack_from("<H", core, 56)[0]
    headers = [bytearray(core[phoff + i * phentsize: phoff + (i + 1) * phentsize]) for i in range(phnum)]
    loads = [h for h in headers if u32(h, 0) == 1][:max_loads]
    notes = [h for h in headers if u32(h, 0) == 4]
    kept = notes + loads
    ehdr = bytearray(core[:64])
    struct.pack_into("<Q", ehdr, 32, 64)
    struct.pack_into("<H", ehdr, 54, 56)
    struct.pack_into("<H", ehdr, 56, len(kept))
    out = bytearray(ehdr) + bytearray(56 * len(kept))
    for i, h in enumerate(kept):
        offset, filesz = u64(h, 8), u64(h, 32)
        keep = filesz if u32(h, 0) == 4 else min(filesz, pages_per_load * PAGE)
        while len(out) % 16:
            out.append(0)
        struct.pack_into("<Q", h, 8, len(out))
        struct.pack_into("<Q", h, 32, keep)
        out += core[offset:offset + keep]
        out[64 + 56 * i:64 + 56 * (i + 1)] = h[:56]
    return bytes(out)


def cut_kdump(dump, keep=4):
    """Headers, notes and bitmaps as they are; the dumped pages among the first `keep` pfns
    of each run of RAM (where the fuzz target reads), their descriptors and data packed after
    them; the other pages cleared from the 2nd bitmap (so they read as excluded)."""
    bs = u32(dump, 428)
    sub_blocks, bitmap_blocks = u32(dump, 432), u32(dump, 436)
    bitmap = (1 + sub_blocks) * bs
    half = bitmap_blocks // 2 * bs
    desc = (1 + sub_blocks + bitmap_blocks) * bs
    head = bytearray(dump[:desc])
    dumped = [p for p in range(half * 8) if head[bitmap + half + p // 8] >> (p % 8) & 1]
    ram = lambda p: head[bitmap + p // 8] >> (p % 8) & 1
    starts = [p for p in range(half * 8) if ram(p) and (p == 0 or not ram(p - 1))]
    chosen = set(p for p in dumped if any(s <= p < s + keep for s in starts))
    for p in dumped:
        if p not in chosen:
            head[bitmap + half + p // 8] &= ~(1 << (p % 8)) & 0xff
    descriptors, data = bytearray(), bytearray()
    data_at = desc + 24 * len(chosen)
    for rank, p in enumerate(dumped):
        if p not in chosen:
            continue
        d = desc + 24 * rank
        offset, size, flags = u64(dump, d), u32(dump, d + 8), u32(dump, d + 12)
        descriptors += struct.pack("<QIIQ", data_at + len(data), size, flags, u64(dump, d + 16))
        data += dump[offset:offset + size]
    return bytes(head + descriptors + data)


def flatten(kdump, chunk=4096):
    """The flattened form of a kdump file: records out of order, one overlapping another."""
    header = b"makedumpfile".ljust(16, b"\0") + struct.pack(">qq", 1, 1)
    out = bytearray(header.ljust(PAGE, b"\0"))
    pieces = [(at, kdump[at:at + chunk]) for at in range(0, len(kdump), chunk)]
    pieces = pieces[1:] + pieces[:1] + [(100, kdump[100:300])]
    for at, data in pieces:
        out += struct.pack(">qq", at, len(data)) + data
    out += struct.pack(">qq", -1, -1)
    return bytes(out)


def xz(data, block):
    return subprocess.run(["xz", "-c", "-T1", f"--block-size={block}", "--check=crc32"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def main():
    sim, out = sys.argv[1], sys.argv[2]
    read = lambda *p: open(os.path.join(sim, *p), "rb").read()
    core = read("elf", "vmcore")
    elf = cut_elf(core)
    write(f"{out}/elf-core/cut", elf)
    write(f"{out}/elf-core/one-page", cut_elf(core, pages_per_load=1, max_loads=1))
    write(f"{out}/vmcoreinfo/vmcoreinfo", vmcoreinfo(elf_notes(core)))
    kdumps = {}
    for method in ["zlib", "lzo", "snappy", "zstd"]:
        kdumps[method] = cut_kdump(read(f"kdump-{method}", "vmcore"))
        write(f"{out}/kdump/{method}", kdumps[method])
    write(f"{out}/flattened/zlib", flatten(kdumps["zlib"]))
    write(f"{out}/flattened/vmsim-head", read("flat", "vmcore")[:48 * 1024])
    write(f"{out}/xz/elf", xz(elf, 4096))
    write(f"{out}/xz/kdump-lzo", xz(kdumps["lzo"], 8192))
    # Patch lists (see Sources/vmowner-fuzz/SeedDump.swift): none, a literal, edge values.
    # Shared by the targets that patch the seed dump (modules, page-owner, stacks, ...).
    write(f"{out}/patches/none", b"")
    write(f"{out}/patches/literal", bytes([7]) + struct.pack("<I", 0x3008) + bytes(range(8)))
    write(f"{out}/patches/edges", bytes([0x80 | 0x30 | 14]) + struct.pack("<I", 0x10010)
          + bytes([0x80 | 0x20 | 8]) + struct.pack("<I", 0x20020) + bytes([0x80 | 0x30 | 0]) + struct.pack("<I", 0x5000))


if __name__ == "__main__":
    main()
