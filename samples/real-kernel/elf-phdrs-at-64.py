#!/usr/bin/env python3
"""Copy a QEMU ELF dump with its program headers moved to offset 64.

QEMU 7.2's dump-guest-memory writes its section headers at 64 and the program
headers after them (e_phoff 192); makedumpfile 1.7.2 assumes they start at 64
and fails with "Can't get the number of PT_LOAD". The copy carries the program
headers at 64 and no section headers (the first segment starts well after).

Usage: elf-phdrs-at-64.py SOURCE.elf COPY.elf
"""
import shutil
import struct
import sys

src, dst = sys.argv[1], sys.argv[2]
shutil.copyfile(src, dst)
with open(dst, 'r+b') as f:
    header = f.read(64)
    phoff = struct.unpack_from('<Q', header, 32)[0]
    phentsize, phnum = struct.unpack_from('<HH', header, 54)
    assert phnum < 0xffff, 'PN_XNUM core'
    f.seek(phoff)
    phdrs = f.read(phentsize * phnum)
    first = min(struct.unpack_from('<Q', phdrs, i * phentsize + 8)[0] for i in range(phnum))
    assert 64 + len(phdrs) <= first, 'no room for the program headers at 64'
    f.seek(64)
    f.write(phdrs)
    f.seek(32)
    f.write(struct.pack('<QQ', 64, 0))      # e_phoff, e_shoff
    f.seek(60)
    f.write(struct.pack('<HH', 0, 0))       # e_shnum, e_shstrndx
