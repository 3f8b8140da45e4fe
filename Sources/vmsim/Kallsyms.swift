/// The kernel's compressed symbol tables (scripts/kallsyms.c format as of 6.12; x86_64 SMP has
/// CONFIG_KALLSYMS_ABSOLUTE_PERCPU: offsets are negative, relative to kallsyms_relative_base − 1;
/// arm64 has not: offsets are unsigned, above kallsyms_relative_base) and the %pS lookup that
/// the kernel does with them.
struct Kallsyms {
    struct Entry {
        let name: String
        let type: Character
        let address: UInt64   // link-time address
    }

    /// Symbols in kallsyms order (address, then the kernel's tie-breaks).
    let entries: [Entry]
    let relativeBase: UInt64
    /// Encoded tables, ready to be copied over the reserved arrays.
    let numSyms: [UInt8]
    let names: [UInt8]
    let markers: [UInt8]
    let seqsOfNames: [UInt8]
    let tokenTable: [UInt8]
    let tokenIndex: [UInt8]
    let offsets: [UInt8]

    struct TooLarge: Error, CustomStringConvertible { let description: String }

    init(image: ELFImage) throws {
        var list: [(Entry, Int)] = []
        for (seq, s) in image.symbols.enumerated() {
            guard !s.name.isEmpty, s.type <= 2, s.sectionIndex != 0, s.sectionIndex < 0xff00,
                  !s.name.hasPrefix("$"), !s.name.hasPrefix(".L"),
                  Int(s.sectionIndex) < image.sections.count else { continue }
            let sec = image.sections[Int(s.sectionIndex)]
            guard sec.flags & 2 != 0 else { continue } // SHF_ALLOC only
            var t: Character
            if sec.flags & 4 != 0 { t = "t" } else if sec.type == 8 { t = "b" } else if sec.flags & 1 != 0 { t = "d" } else { t = "r" }
            if s.bind != 0 { t = Character(t.uppercased()) }
            list.append((Entry(name: s.name, type: t, address: s.value), seq))
        }
        // Same address: linker-script symbols later, then fewer leading underscores first,
        // then the original order.
        func linkerProvided(_ n: String) -> Bool {
            return n.hasPrefix("__start_") || n.hasPrefix("__stop_") || n.hasPrefix("__end_")
                || (n.hasPrefix("_") && (n.hasSuffix("_start") || n.hasSuffix("_end") || n.hasSuffix("_stop")))
                || ["_text", "_stext", "_etext", "_sdata", "_edata", "_end", "__bss_start", "__bss_stop"].contains(n)
        }
        func underscores(_ n: String) -> Int { n.prefix { $0 == "_" }.count }
        list.sort { a, b in
            if a.0.address != b.0.address { return a.0.address < b.0.address }
            let la = linkerProvided(a.0.name), lb = linkerProvided(b.0.name)
            if la != lb { return !la }
            let ua = underscores(a.0.name), ub = underscores(b.0.name)
            if ua != ub { return ua < ub }
            return a.1 < b.1
        }
        let entries = list.map { $0.0 }
        self.entries = entries
        guard entries.count <= KernelDeclarations.kallsymsMaxSymbols else {
            throw TooLarge(description: "kallsyms: \(entries.count) symbols exceed the reserved room")
        }
        let relativeBase = entries.first?.address ?? 0
        self.relativeBase = relativeBase

        // Token table: every byte that occurs stands for itself; the free byte values become
        // the most frequent pairs.
        let strings = entries.map { Array((String($0.type) + $0.name).utf8) }
        var used = Set<UInt8>()
        for s in strings { used.formUnion(s) }
        var pairCounts: [UInt16: Int] = [:]
        for s in strings where s.count > 1 {
            for i in 0..<(s.count - 1) { pairCounts[UInt16(s[i]) << 8 | UInt16(s[i + 1]), default: 0] += 1 }
        }
        let freeCodes = (1...255).map { UInt8($0) }.filter { !used.contains($0) }
        let topPairs = pairCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(freeCodes.count).map { $0.key }
        var tokens = [[UInt8]](repeating: [], count: 256)
        var pairCode: [UInt16: UInt8] = [:]
        for c in 0..<256 { tokens[c] = [UInt8(c)] }
        tokens[0] = []
        for (i, pair) in topPairs.enumerated() {
            let code = freeCodes[i]
            tokens[Int(code)] = [UInt8(pair >> 8), UInt8(pair & 0xff)]
            pairCode[pair] = code
        }
        var tokenTable: [UInt8] = [], tokenIndex: [UInt8] = []
        for t in tokens {
            tokenIndex += le(UInt64(tokenTable.count), 2)
            tokenTable += t + [0]
        }

        var names: [UInt8] = [], markers: [UInt8] = []
        for (i, s) in strings.enumerated() {
            if i & 0xff == 0 { markers += le(UInt64(names.count), 4) }
            var enc: [UInt8] = []
            var j = 0
            while j < s.count {
                if j + 1 < s.count, let code = pairCode[UInt16(s[j]) << 8 | UInt16(s[j + 1])] {
                    enc.append(code)
                    j += 2
                } else {
                    enc.append(s[j])
                    j += 1
                }
            }
            if enc.count <= 0x7f {
                names.append(UInt8(enc.count))
            } else {
                names += [UInt8(enc.count & 0x7f) | 0x80, UInt8((enc.count >> 7) & 0x7f)]
            }
            names += enc
        }
        guard names.count <= KernelDeclarations.kallsymsNamesBytes, tokenTable.count <= KernelDeclarations.kallsymsTokenBytes else {
            throw TooLarge(description: "kallsyms: tables exceed the reserved room")
        }

        var offsets: [UInt8] = []
        let absolutePercpu = !Platform.current.isARM64
        for e in entries {
            let off = absolutePercpu ? Int64(bitPattern: relativeBase &- e.address &- 1) : Int64(e.address - relativeBase)
            offsets += le(UInt64(bitPattern: off), 4)
        }
        let byName = entries.indices.sorted {
            let a = entries[$0], b = entries[$1]
            if a.name != b.name { return a.name.utf8.lexicographicallyPrecedes(b.name.utf8) }
            if a.address != b.address { return a.address < b.address }
            return $0 < $1
        }
        var seqs: [UInt8] = []
        for i in byName { seqs += [UInt8((i >> 16) & 0xff), UInt8((i >> 8) & 0xff), UInt8(i & 0xff)] }

        self.numSyms = le(UInt64(entries.count), 4)
        self.names = names
        self.markers = markers
        self.seqsOfNames = seqs
        self.tokenTable = tokenTable
        self.tokenIndex = tokenIndex
        self.offsets = offsets
    }

    /// Writes the tables into the vmlinux file bytes (over the zeroed reserved arrays).
    func patch(into image: inout ELFImage) throws {
        let parts: [(String, [UInt8])] = [
            ("kallsyms_num_syms", numSyms), ("kallsyms_names", names), ("kallsyms_markers", markers),
            ("kallsyms_seqs_of_names", seqsOfNames), ("kallsyms_token_table", tokenTable),
            ("kallsyms_token_index", tokenIndex), ("kallsyms_offsets", offsets),
        ]
        for (sym, bytes) in parts { try image.patch(address: try image.address(of: sym), with: bytes) }
    }

    /// %pS for a link-time address: name+0xoff/0xsize, size = distance to the next higher
    /// kallsyms address (first alias in kallsyms order wins).
    func symbolize(linkAddress a: UInt64) -> String? {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].address <= a { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var i = lo - 1
        while i > 0 && entries[i - 1].address == entries[i].address { i -= 1 }
        let start = entries[i].address
        var n = i + 1
        while n < entries.count && entries[n].address == start { n += 1 }
        guard n < entries.count else { return nil }
        let size = entries[n].address - start
        return "\(entries[i].name)+0x\(String(a - start, radix: 16))/0x\(String(size, radix: 16))"
    }
}
