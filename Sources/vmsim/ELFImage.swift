/// A small ELF64 little-endian reader for the vmlinux that vmsim just built: sections,
/// symbols and R_X86_64_64 relocations. Input is our own gcc output, still every read is
/// bounds-checked.
struct ELFImage {
    struct Section {
        let name: String
        let type: UInt32
        let flags: UInt64
        let address: UInt64
        let offset: UInt64
        let size: UInt64
        let link: UInt32
        let info: UInt32
    }
    struct Symbol {
        let name: String
        let value: UInt64
        let size: UInt64
        let type: UInt8   // STT_*
        let bind: UInt8   // STB_*
        let sectionIndex: UInt16
    }

    var bytes: [UInt8]
    private(set) var sections: [Section] = []
    private(set) var symbols: [Symbol] = []
    /// Link-time addresses that hold an absolute 64-bit pointer (R_X86_64_64, R_AARCH64_ABS64).
    private(set) var absoluteRelocations: [UInt64] = []

    struct FormatError: Error, CustomStringConvertible { let description: String }

    init(bytes: [UInt8]) throws {
        self.bytes = bytes
        guard bytes.count > 64, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[4] == 2, bytes[5] == 1 else {
            throw FormatError(description: "vmlinux: not an ELF64 little-endian file")
        }
        let shoff = try u64(0x28)
        let shentsize = Int(try u16(0x3a)), shnum = Int(try u16(0x3c)), shstrndx = Int(try u16(0x3e))
        var raw: [(UInt32, Section)] = []
        for i in 0..<shnum {
            let o = Int(shoff) + i * shentsize
            raw.append((try u32(o), Section(name: "", type: try u32(o + 4), flags: try u64(o + 8),
                                            address: try u64(o + 16), offset: try u64(o + 24),
                                            size: try u64(o + 32), link: try u32(o + 40), info: try u32(o + 44))))
        }
        guard shstrndx < raw.count else { throw FormatError(description: "vmlinux: bad shstrndx") }
        let names = raw[shstrndx].1
        sections = try raw.map { (nameOff, s) in
            Section(name: try cString(Int(names.offset) + Int(nameOff)), type: s.type, flags: s.flags,
                    address: s.address, offset: s.offset, size: s.size, link: s.link, info: s.info)
        }
        if let symtab = sections.first(where: { $0.type == 2 }) {
            let strtab = sections[Int(symtab.link)]
            var o = Int(symtab.offset)
            while o + 24 <= Int(symtab.offset + symtab.size) {
                let info = bytes[o + 4]
                symbols.append(Symbol(name: try cString(Int(strtab.offset) + Int(try u32(o))),
                                      value: try u64(o + 8), size: try u64(o + 16),
                                      type: info & 0xf, bind: info >> 4, sectionIndex: try u16(o + 6)))
                o += 24
            }
        }
        let abs64: UInt64 = bytes.count > 19 && bytes[18] == 183 ? 257 : 1
        for s in sections where s.type == 4 && Int(s.info) < sections.count && sections[Int(s.info)].flags & 2 != 0 { // SHT_RELA for loaded sections
            var o = Int(s.offset)
            while o + 24 <= Int(s.offset + s.size) {
                if try u64(o + 8) & 0xffff_ffff == abs64 { absoluteRelocations.append(try u64(o)) }
                o += 24
            }
        }
    }

    func section(_ name: String) -> Section? { sections.first { $0.name == name } }

    func symbol(_ name: String) -> Symbol? { symbols.first { $0.name == name } }

    func address(of name: String) throws -> UInt64 {
        guard let s = symbol(name) else { throw FormatError(description: "vmlinux: no symbol \(name)") }
        return s.value
    }

    /// File offset of a link-time address inside a PROGBITS section.
    func fileOffset(ofAddress va: UInt64) -> Int? {
        for s in sections where s.type == 1 && s.flags & 2 != 0 && va >= s.address && va < s.address + s.size {
            return Int(s.offset + (va - s.address))
        }
        return nil
    }

    mutating func patch(address va: UInt64, with data: [UInt8]) throws {
        guard let o = fileOffset(ofAddress: va), o + data.count <= bytes.count else {
            throw FormatError(description: "vmlinux: cannot patch 0x\(String(va, radix: 16))")
        }
        bytes.replaceSubrange(o..<(o + data.count), with: data)
    }

    func u16(_ o: Int) throws -> UInt16 {
        guard o >= 0, o + 2 <= bytes.count else { throw FormatError(description: "vmlinux: read past end") }
        return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
    }
    func u32(_ o: Int) throws -> UInt32 {
        guard o >= 0, o + 4 <= bytes.count else { throw FormatError(description: "vmlinux: read past end") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[o + i]) << (8 * UInt32(i)) }
        return v
    }
    func u64(_ o: Int) throws -> UInt64 {
        guard o >= 0, o + 8 <= bytes.count else { throw FormatError(description: "vmlinux: read past end") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[o + i]) << (8 * UInt64(i)) }
        return v
    }
    func cString(_ o: Int) throws -> String {
        guard o >= 0, o < bytes.count else { throw FormatError(description: "vmlinux: string past end") }
        var e = o
        while e < bytes.count, bytes[e] != 0 { e += 1 }
        return String(decoding: bytes[o..<e], as: UTF8.self)
    }
}
