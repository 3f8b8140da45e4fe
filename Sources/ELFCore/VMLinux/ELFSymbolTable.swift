import CLibDW
import Foundation

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
/// addresses, and addresses back to names for the fallback symbolizer.
///
/// A distribution vmlinux has a few hundred thousand symbols and a command asks for a few
/// dozen, so reading it makes no String per symbol: names stay in the string table (libelf's
/// map of the file) and are found through a hash table of their bytes; the address order is
/// sorted only when first asked for. Thread-safe: the one lazy part is built under a lock.
public final class ELFSymbolTable: @unchecked Sendable {
    /// A symbol as read: the name is an offset and length into `strings`.
    struct Entry {
        let value: UInt64
        let size: UInt64
        let nameOffset: UInt32
        let nameLength: UInt32
        let section: UInt16
        let flags: UInt8
        let fileGroup: Int32      // -1: none
        static let function: UInt8 = 1, data: UInt8 = 2, global: UInt8 = 4
    }

    let entries: [Entry]
    /// The string table's bytes; every entry's name lies inside, NUL-terminated (checked).
    private let strings: UnsafeRawBufferPointer
    /// Keeps the mapping `strings` points into alive.
    private let file: ELFFile?
    /// Source file name (as in STT_FILE, e.g. "page_owner.c") of each file group.
    let groupFiles: [String]
    /// The address of the first function of each file group, when it has one: the way from a
    /// static symbol to its compile unit through the DWARF address ranges.
    let groupFunction: [Int: UInt64]
    /// Open addressing over entry indexes by name hash; each name's preferred definition (the
    /// global one, else the first local one). -1 marks an empty slot.
    private let slots: [Int32]
    private let lock = NSLock()
    private var sortedCache: [Int32]?

    /// The number of defined, named symbols.
    public var count: Int { entries.count }

    init(file: ELFFile) {
        var entries: [Entry] = []
        var groupFiles: [String] = []
        var groupFunction: [Int: UInt64] = [:]
        var strings = UnsafeRawBufferPointer(start: nil, count: 0)
        var table: (OpaquePointer, GElf_Shdr)?
        file.forEachSection { section, header in
            if header.sh_type == UInt32(SHT_SYMTAB) { table = (section, header); return false }
            if header.sh_type == UInt32(SHT_DYNSYM), table == nil { table = (section, header) }
            return true
        }
        if let (section, header) = table, let data = elf_getdata(section, nil), header.sh_entsize > 0,
           let stringSection = elf_getscn(file.elf, Int(header.sh_link)), let text = file.contents(of: stringSection),
           text.count < Int(UInt32.max) {
            strings = text
            let count = Int(clamping: UInt64(data.pointee.d_size) / header.sh_entsize)
            entries.reserveCapacity(count)
            var group: Int32 = -1
            for index in 0..<count {
                var raw = GElf_Sym()
                guard gelf_getsym(data, Int32(clamping: index), &raw) != nil else { break }
                let type = Int32(raw.st_info & 0xf)
                let binding = Int32(raw.st_info >> 4)
                guard let length = Self.nameLength(in: text, at: Int(raw.st_name)) else { continue }
                if type == STT_FILE {
                    group = Int32(groupFiles.count)
                    groupFiles.append(String(decoding: UnsafeRawBufferPointer(rebasing: text[Int(raw.st_name)..<(Int(raw.st_name) + length)]), as: UTF8.self))
                    continue
                }
                if binding != STB_LOCAL { group = -1 }
                guard length > 0, type != STT_SECTION, raw.st_shndx != UInt16(SHN_UNDEF) else { continue }
                let isFunction = type == STT_FUNC || type == STT_GNU_IFUNC
                if isFunction, group >= 0, groupFunction[Int(group)] == nil { groupFunction[Int(group)] = raw.st_value }
                var flags: UInt8 = 0
                if isFunction { flags |= Entry.function }
                if type == STT_OBJECT || type == STT_TLS { flags |= Entry.data }
                if binding == STB_GLOBAL || binding == STB_WEAK { flags |= Entry.global }
                entries.append(Entry(value: raw.st_value, size: raw.st_size, nameOffset: raw.st_name, nameLength: UInt32(length),
                                     section: raw.st_shndx, flags: flags, fileGroup: group))
            }
        }
        self.entries = entries
        self.strings = strings
        self.file = file
        self.groupFiles = groupFiles
        self.groupFunction = groupFunction
        slots = Self.hashSlots(entries, strings)
    }

    /// The length of the NUL-terminated name at `offset`, nil when it runs off the table.
    private static func nameLength(in text: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard offset >= 0, offset < text.count, let base = text.baseAddress else { return nil }
        guard let nul = memchr(base + offset, 0, text.count - offset) else { return nil }
        return UnsafeRawPointer(nul) - (base + offset)
    }

    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325           // FNV-1a
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    private func name(_ e: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: strings[Int(e.nameOffset)..<(Int(e.nameOffset) + Int(e.nameLength))])
    }

    private static func hashSlots(_ entries: [Entry], _ strings: UnsafeRawBufferPointer) -> [Int32] {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        func bytes(_ e: Entry) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: strings[Int(e.nameOffset)..<(Int(e.nameOffset) + Int(e.nameLength))])
        }
        for (index, entry) in entries.enumerated() {
            let name = bytes(entry)
            var slot = Int(truncatingIfNeeded: hash(name)) & mask
            while slots[slot] >= 0 {
                let existing = entries[Int(slots[slot])]
                if existing.nameLength == entry.nameLength, name.elementsEqual(bytes(existing)) { break }
                slot = (slot + 1) & mask
            }
            if slots[slot] >= 0 {
                // The global definition wins over local ones; among locals, the first.
                let existing = entries[Int(slots[slot])]
                if existing.flags & Entry.global != 0 || entry.flags & Entry.global == 0 { continue }
            }
            slots[slot] = Int32(index)
        }
        return slots
    }

    private func index(of name: String) -> Int? {
        guard !slots.isEmpty else { return nil }
        var key = name
        return key.withUTF8 { utf8 -> Int? in
            let wanted = UnsafeRawBufferPointer(utf8)
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: Self.hash(wanted)) & mask
            while slots[slot] >= 0 {
                let entry = entries[Int(slots[slot])]
                if Int(entry.nameLength) == wanted.count, wanted.elementsEqual(self.name(entry)) { return Int(slots[slot]) }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    private func symbol(_ index: Int) -> ELFSymbol {
        let e = entries[index]
        return ELFSymbol(name: String(decoding: name(e), as: UTF8.self), value: e.value, size: e.size,
                         isFunction: e.flags & Entry.function != 0, isData: e.flags & Entry.data != 0,
                         isGlobal: e.flags & Entry.global != 0, section: e.section,
                         fileGroup: e.fileGroup >= 0 ? Int(e.fileGroup) : nil)
    }

    /// The link-time address of `name`: its global definition, else its first local one.
    public func address(of name: String) -> UInt64? { index(of: name).map { entries[$0].value } }

    public func symbol(named name: String) -> ELFSymbol? { index(of: name).map(symbol) }

    /// Every definition of `name` (static symbols may repeat across files), preferred first.
    /// A linear pass: used only for the few DWARF unit hints.
    func symbols(named name: String) -> [ELFSymbol] {
        guard index(of: name) != nil else { return [] }
        var key = name
        let matches = key.withUTF8 { utf8 in
            entries.indices.filter { Int(entries[$0].nameLength) == utf8.count && UnsafeRawBufferPointer(utf8).elementsEqual(self.name(entries[$0])) }
        }.map(symbol)
        return matches.filter(\.isGlobal) + matches.filter { !$0.isGlobal }
    }

    /// Entry indexes sorted by address for a nearest-preceding lookup (absolute symbols left
    /// out). Among symbols at one address, the most telling comes first: functions, then
    /// globals, then sized ones. Sorted on first use.
    private var sorted: [Int32] {
        lock.lock()
        defer { lock.unlock() }
        if let sortedCache { return sortedCache }
        func rank(_ e: Entry) -> Int {
            (e.flags & Entry.function != 0 ? 0 : 4) + (e.flags & Entry.global != 0 ? 0 : 2) + (e.size > 0 ? 0 : 1)
        }
        // Stable passes, least significant key first: table order, then rank (a counting sort
        // over its 8 values), then the address a byte at a time (an LSD radix sort) — linear in
        // the symbols, where a comparison sort of a distribution kernel's is the bulk of start-up.
        var order: [(value: UInt64, index: Int32)] = []
        order.reserveCapacity(entries.count)
        var byRank = [[(value: UInt64, index: Int32)]](repeating: [], count: 8)
        for (i, e) in entries.enumerated() where e.section != UInt16(SHN_ABS) { byRank[rank(e)].append((e.value, Int32(i))) }
        for bucket in byRank { order += bucket }
        var scratch = order
        var counts = [Int](repeating: 0, count: 257)
        for shift in stride(from: UInt64(0), to: 64, by: 8) {
            for i in counts.indices { counts[i] = 0 }
            for item in order { counts[Int((item.value >> shift) & 0xff) + 1] += 1 }
            if counts[1...].contains(order.count) { continue }          // every key has this byte alike
            for i in 1..<counts.count { counts[i] += counts[i - 1] }
            for item in order {
                let byte = Int((item.value >> shift) & 0xff)
                scratch[counts[byte]] = item
                counts[byte] += 1
            }
            swap(&order, &scratch)
        }
        let result = order.map(\.index)
        sortedCache = result
        return result
    }

    /// The symbols in address order (see `sorted`).
    public var sortedByAddress: [ELFSymbol] { sorted.map { symbol(Int($0)) } }

    /// How many symbols the address order has, and the one at `position`.
    var sortedCount: Int { sorted.count }
    func sortedSymbol(at position: Int) -> ELFSymbol { symbol(Int(sorted[position])) }
    func sortedValue(at position: Int) -> UInt64 { entries[Int(sorted[position])].value }

    /// The symbol at or before `address` (nearest preceding, as kallsyms attributes addresses)
    /// and the offset into it; nil below the first symbol.
    public func containing(_ address: UInt64) -> (ELFSymbol, offset: UInt64)? {
        let list = sorted
        var low = 0, high = list.count  // first index whose value > address
        while low < high {
            let mid = low + (high - low) / 2
            if entries[Int(list[mid])].value <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        var first = low - 1
        let value = entries[Int(list[first])].value
        while first > 0, entries[Int(list[first - 1])].value == value { first -= 1 }
        let found = symbol(Int(list[first]))
        return (found, address &- found.value)
    }
}
