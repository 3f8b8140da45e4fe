import CLibDW

/// One defined symbol of the vmlinux's `.symtab`, at its link-time address.
public struct ELFSymbol {
    public let name: String
    public let value: UInt64
    public let size: UInt64
    public let isFunction: Bool
    public let isData: Bool
    public let isGlobal: Bool
    /// ELF section index (st_shndx).
    let section: UInt16
    /// For a local symbol, the index of the STT_FILE group it belongs to (the object file that
    /// defined it); nil for globals, whose file the symbol table does not record.
    let fileGroup: Int?
}

/// The vmlinux `.symtab` (or `.dynsym` when there is no `.symtab`): names to link-time
/// addresses, and addresses back to names for the fallback symbolizer. Immutable once read,
/// so it may be shared between threads.
public final class ELFSymbolTable {
    /// Every defined, named, non-section, non-file symbol, in table order.
    let all: [ELFSymbol]
    /// Source file name (as in STT_FILE, e.g. "page_owner.c") of each file group.
    let groupFiles: [String]
    /// The address of the first function of each file group, when it has one: the way from a
    /// static symbol to its compile unit through the DWARF address ranges.
    let groupFunction: [Int: UInt64]
    /// The preferred definition of each name: the global one, else the first local one.
    private let indexByName: [String: Int]
    /// Built with the table (not lazily) so a finished table is immutable and safe to share.
    private let sorted: [ELFSymbol]

    init(file: ELFFile) {
        var symbols: [ELFSymbol] = []
        var groupFiles: [String] = []
        var groupFunction: [Int: UInt64] = [:]
        var table: (OpaquePointer, GElf_Shdr)?
        file.forEachSection { section, header in
            if header.sh_type == UInt32(SHT_SYMTAB) { table = (section, header); return false }
            if header.sh_type == UInt32(SHT_DYNSYM), table == nil { table = (section, header) }
            return true
        }
        if let (section, header) = table, let data = elf_getdata(section, nil), header.sh_entsize > 0 {
            let count = Int(clamping: UInt64(data.pointee.d_size) / header.sh_entsize)
            symbols.reserveCapacity(count)
            var group: Int?
            for index in 0..<count {
                var raw = GElf_Sym()
                guard gelf_getsym(data, Int32(clamping: index), &raw) != nil else { break }
                let type = Int32(raw.st_info & 0xf)
                let binding = Int32(raw.st_info >> 4)
                guard let cName = elf_strptr(file.elf, Int(header.sh_link), Int(raw.st_name)) else { continue }
                if type == STT_FILE {
                    group = groupFiles.count
                    groupFiles.append(String(cString: cName))
                    continue
                }
                if binding != STB_LOCAL { group = nil }
                guard cName.pointee != 0, type != STT_SECTION, raw.st_shndx != UInt16(SHN_UNDEF) else { continue }
                let isFunction = type == STT_FUNC || type == STT_GNU_IFUNC
                if isFunction, let group, groupFunction[group] == nil { groupFunction[group] = raw.st_value }
                symbols.append(ELFSymbol(
                    name: String(cString: cName), value: raw.st_value, size: raw.st_size,
                    isFunction: isFunction, isData: type == STT_OBJECT || type == STT_TLS,
                    isGlobal: binding == STB_GLOBAL || binding == STB_WEAK,
                    section: raw.st_shndx, fileGroup: group))
            }
        }
        var byName: [String: Int] = [:]
        byName.reserveCapacity(symbols.count)
        for (index, symbol) in symbols.enumerated() {
            if let existing = byName[symbol.name], symbols[existing].isGlobal || !symbol.isGlobal { continue }
            byName[symbol.name] = index
        }
        self.all = symbols
        self.groupFiles = groupFiles
        self.groupFunction = groupFunction
        self.indexByName = byName
        self.sorted = Self.sortForLookup(symbols)
    }

    /// The link-time address of `name`: its global definition, else its first local one.
    public func address(of name: String) -> UInt64? { symbol(named: name)?.value }

    public func symbol(named name: String) -> ELFSymbol? {
        indexByName[name].map { all[$0] }
    }

    /// Every definition of `name` (static symbols may repeat across files), preferred first.
    /// A linear pass: used only for the few DWARF unit hints.
    func symbols(named name: String) -> [ELFSymbol] {
        guard indexByName[name] != nil else { return [] }
        let matches = all.filter { $0.name == name }
        return matches.filter(\.isGlobal) + matches.filter { !$0.isGlobal }
    }

    /// Symbols sorted by address for a nearest-preceding lookup (absolute symbols left out).
    /// Among symbols at one address, the most telling comes first: functions, then globals,
    /// then sized ones.
    public var sortedByAddress: [ELFSymbol] { sorted }

    /// The symbol at or before `address` (nearest preceding, as kallsyms attributes addresses)
    /// and the offset into it; nil below the first symbol.
    public func containing(_ address: UInt64) -> (ELFSymbol, offset: UInt64)? {
        let list = sorted
        var low = 0, high = list.count  // first index whose value > address
        while low < high {
            let mid = low + (high - low) / 2
            if list[mid].value <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        var first = low - 1
        let value = list[first].value
        while first > 0, list[first - 1].value == value { first -= 1 }
        let symbol = list[first]
        return (symbol, address &- symbol.value)
    }

    private static func sortForLookup(_ symbols: [ELFSymbol]) -> [ELFSymbol] {
        func rank(_ s: ELFSymbol) -> Int { (s.isFunction ? 0 : 4) + (s.isGlobal ? 0 : 2) + (s.size > 0 ? 0 : 1) }
        return symbols
            .filter { $0.section != UInt16(SHN_ABS) }
            .sorted { $0.value != $1.value ? $0.value < $1.value : rank($0) < rank($1) }
    }
}
