import CLibDW

/// Finds the compile unit that defines a global symbol, without scanning all units.
///
/// DWARF address ranges (.debug_aranges, CU ranges) cover code only, so:
/// - a function symbol: its address gives the unit directly;
/// - a static symbol: .symtab groups locals under their STT_FILE entry; a function of the
///   same group gives the unit, else units whose name ends in that file name are tried;
/// - a global data symbol (its file is not recorded anywhere cheap): objects are linked in
///   unit order, so the local symbols just before and after it in its section bracket a few
///   candidate units; the one with a definition of the variable wins.
final class UnitLocator {
    private let dwarf: OpaquePointer
    private let symbols: ELFSymbolTable
    private let index: NameIndex
    private var cache: [String: Int?] = [:]
    private var groupUnits: [Int: Int?] = [:]
    /// DW_AT_name of each unit (the source path), read once when first needed.
    private lazy var unitNames: [String] = index.units.map { $0.name ?? "" }
    /// How far to look for neighbouring local symbols and how many bracketed units to try.
    private let neighbourLimit = 256
    private let candidateLimit = 64

    init(dwarf: OpaquePointer, symbols: ELFSymbolTable, index: NameIndex) {
        self.dwarf = dwarf
        self.symbols = symbols
        self.index = index
    }

    /// The unit DIE most likely to define `symbol` and the types private to its file.
    func unit(near symbol: String) -> Dwarf_Die? {
        if let cached = cache[symbol] { return cached.map { index.units[$0] } }
        var found: Int?
        for candidate in symbols.symbols(named: symbol) {
            if let unit = locate(candidate) { found = unit; break }
        }
        cache[symbol] = found
        return found.map { index.units[$0] }
    }

    private func locate(_ symbol: ELFSymbol) -> Int? {
        if symbol.isFunction { return unitIndex(containing: symbol.value) }
        if let group = symbol.fileGroup {
            if let unit = unit(ofGroup: group), index.definesVariable(symbol.name, in: index.units[unit]) { return unit }
            return namedUnits(for: group).first { index.definesVariable(symbol.name, in: index.units[$0]) }
        }
        return bracketedUnit(for: symbol)
    }

    /// The unit whose code ranges hold `address`: aranges first, then each unit's ranges.
    private func unitIndex(containing address: UInt64) -> Int? {
        var result = Dwarf_Die()
        if dwarf_addrdie(dwarf, address, &result) != nil, let unit = index.unitIndexByOffset[result.offset] {
            return unit
        }
        for (position, unit) in index.units.enumerated() {
            var die = unit
            if dwarf_haspc(&die, address) > 0 { return position }
        }
        return nil
    }

    /// The unit of one STT_FILE group, through the first function the group defines.
    private func unit(ofGroup group: Int) -> Int? {
        if let cached = groupUnits[group] { return cached }
        var unit = symbols.groupFunction[group].flatMap(unitIndex(containing:))
        if unit == nil {
            let named = namedUnits(for: group)
            if named.count == 1 { unit = named[0] }
        }
        groupUnits[group] = unit
        return unit
    }

    /// Units whose DW_AT_name has the group's file name as its last path component.
    private func namedUnits(for group: Int) -> [Int] {
        guard group < symbols.groupFiles.count else { return [] }
        let file = symbols.groupFiles[group]
        return unitNames.indices.filter { unitNames[$0] == file || unitNames[$0].hasSuffix("/" + file) }
    }

    /// Tries the units between those of the nearest file-known local symbols around a global
    /// data symbol in its section. Neighbours are asked through their functions first; only
    /// when that finds none are units matched by file name (which reads every unit's name).
    private func bracketedUnit(for symbol: ELFSymbol) -> Int? {
        var low = 0, high = symbols.sortedCount
        while low < high {
            let mid = low + (high - low) / 2
            if symbols.sortedValue(at: mid) < symbol.value { low = mid + 1 } else { high = mid }
        }
        func nearestUnit(from start: Int, step: Int, byName: Bool) -> Int? {
            var position = start
            for _ in 0..<neighbourLimit {
                guard position >= 0, position < symbols.sortedCount else { return nil }
                let neighbour = symbols.sortedSymbol(at: position)
                position += step
                guard neighbour.section == symbol.section else { return nil }
                guard let group = neighbour.fileGroup else { continue }
                if !byName, symbols.groupFunction[group] == nil { continue }
                if let unit = unit(ofGroup: group) { return unit }
            }
            return nil
        }
        for byName in [false, true] {
            let before = nearestUnit(from: low - 1, step: -1, byName: byName)
            let after = nearestUnit(from: low, step: 1, byName: byName)
            var candidates: [Int] = []
            if let before, let after, before <= after, after - before < candidateLimit {
                candidates = Array(before...after)
            } else {
                candidates = [before, after].compactMap { $0 }
            }
            if let found = candidates.first(where: { index.definesVariable(symbol.name, in: index.units[$0]) }) { return found }
        }
        return nil
    }
}
