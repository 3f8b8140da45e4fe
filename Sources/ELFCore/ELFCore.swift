// ELFCore: dump formats, ELF, DWARF types, symbols and address translation.
