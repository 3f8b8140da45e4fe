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

/// The dump's kallsyms by name. All names are decoded once, when the first is asked for:
/// only the reports without a vmlinux use this.
final class KallsymsSymbols: KernelSymbols {
    let kallsyms: Kallsyms
    /// Name to position in address order: a global symbol before a local one of the same
    /// name (static variables of two files may share one), else the lowest address.
    private let positions: [String: Int]

    init(kallsyms: Kallsyms) {
        self.kallsyms = kallsyms
        var positions: [String: Int] = [:]
        positions.reserveCapacity(kallsyms.count)
        for position in 0..<kallsyms.count {
            let symbol = kallsyms.symbol(at: position)
            if let earlier = positions[symbol.name] {
                guard !kallsyms.symbol(at: earlier).type.isUppercase, symbol.type.isUppercase else { continue }
            }
            positions[symbol.name] = position
        }
        self.positions = positions
    }

    func address(of name: String) -> UInt64? { positions[name].map { kallsyms.symbol(at: $0).address } }
    func size(of name: String) -> UInt64? { positions[name].flatMap(kallsyms.distanceToNext(at:)) }
    func isData(_ name: String) -> Bool {
        guard let position = positions[name] else { return false }
        return "bBdDrRvV".contains(kallsyms.symbol(at: position).type)
    }
}
