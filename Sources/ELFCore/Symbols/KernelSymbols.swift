/// The crashed kernel's symbols by name, at runtime addresses: the vmlinux symbol table
/// shifted by the KASLR offset, or, without a vmlinux, the kallsyms tables in the dump.
public protocol KernelSymbols: AnyObject, Sendable {
    func address(of name: String) -> UInt64?
    /// The object's size: ELF st_size, or with kallsyms the distance to the next symbol.
    func size(of name: String) -> UInt64?
    /// True for a data object (not code).
    func isData(_ name: String) -> Bool
}

/// The vmlinux's .symtab, shifted by the KASLR offset.
final class VMLinuxSymbols: KernelSymbols {
    let table: ELFSymbolTable
    let kernelOffset: UInt64

    init(table: ELFSymbolTable, kernelOffset: UInt64) {
        self.table = table
        self.kernelOffset = kernelOffset
    }

    func address(of name: String) -> UInt64? { table.address(of: name).map { $0 &+ kernelOffset } }
    func size(of name: String) -> UInt64? { table.symbol(named: name)?.size }
    func isData(_ name: String) -> Bool { table.symbol(named: name)?.isData == true }
}

/// The dump's kallsyms by name: all names expanded once into one buffer, found through an
/// open-addressing hash table (a few hundred lookups of a kernel's 100,000 or more names; no
/// String is made per symbol).
final class KallsymsSymbols: KernelSymbols {
    let kallsyms: Kallsyms
    private let expanded: [UInt8]
    private let starts: [Int]
    /// Positions in address order + 1 (0: empty), at the name's hash. Where static variables
    /// of two files share a name, a global symbol wins over a local one, else the lowest address.
    private let slots: [Int32]

    init(kallsyms: Kallsyms) {
        self.kallsyms = kallsyms
        let (expanded, starts) = kallsyms.expandedInAddressOrder()
        self.expanded = expanded
        self.starts = starts
        slots = Self.table(expanded, starts)
    }

    private static func table(_ expanded: [UInt8], _ starts: [Int]) -> [Int32] {
        let count = starts.count - 1
        var slots = [Int32](repeating: 0, count: max(16, 1 << (Int.bitWidth - (count * 2).leadingZeroBitCount)))
        let mask = slots.count - 1
        for position in 0..<count {
            let name = Self.name(position, expanded, starts)
            guard !name.isEmpty else { continue }
            var slot = Int(truncatingIfNeeded: hash(name)) & mask
            while slots[slot] != 0 {
                let other = Int(slots[slot]) - 1
                if Self.name(other, expanded, starts).elementsEqual(name) {
                    if !isGlobal(other, expanded, starts) && isGlobal(position, expanded, starts) { slots[slot] = Int32(position + 1) }
                    break
                }
                slot = (slot + 1) & mask
            }
            if slots[slot] == 0 { slots[slot] = Int32(position + 1) }
        }
        return slots
    }

    private static func name(_ position: Int, _ expanded: [UInt8], _ starts: [Int]) -> ArraySlice<UInt8> {
        expanded[min(starts[position] + 1, starts[position + 1])..<starts[position + 1]]
    }

    private static func type(_ position: Int, _ expanded: [UInt8], _ starts: [Int]) -> UInt8 {
        starts[position + 1] > starts[position] ? expanded[starts[position]] : 0
    }

    private static func isGlobal(_ position: Int, _ expanded: [UInt8], _ starts: [Int]) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(type(position, expanded, starts))
    }

    /// FNV-1a over the name's bytes.
    private static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    private func position(of name: String) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(name.utf8)) & mask
        while slots[slot] != 0 {
            let position = Int(slots[slot]) - 1
            if Self.name(position, expanded, starts).elementsEqual(name.utf8) { return position }
            slot = (slot + 1) & mask
        }
        return nil
    }

    func address(of name: String) -> UInt64? { position(of: name).map(kallsyms.address(at:)) }
    func size(of name: String) -> UInt64? { position(of: name).flatMap(kallsyms.distanceToNext(at:)) }
    func isData(_ name: String) -> Bool {
        guard let position = position(of: name) else { return false }
        return "bBdDrRvV".utf8.contains(Self.type(position, expanded, starts))
    }
}
