import CLibDW

/// Answers layout questions from the vmlinux DWARF: struct/union layouts, typedef targets,
/// enumerator values and variable types. Looks up a handful of names on demand; never builds
/// an index of all DIEs (see NameIndex and UnitLocator for how names are found).
/// Not thread-safe: it fills caches as it answers; use it from one thread (callers resolve
/// their layouts once, up front).
public final class DebugTypes: KernelTypes {
    let file: ELFFile
    private let index: NameIndex
    private let locator: UnitLocator
    private let symbols: ELFSymbolTable
    private var layouts: [UInt64: TypeLayout] = [:]

    /// `dwarf` is the file's libdw handle (the file keeps it open).
    init(file: ELFFile, dwarf: OpaquePointer, symbols: ELFSymbolTable) {
        self.file = file
        self.symbols = symbols
        index = NameIndex(dwarf: dwarf)
        locator = UnitLocator(dwarf: dwarf, symbols: symbols, index: index)
    }

    public var origin: String { "DWARF" }
    public var source: String { file.path }

    /// Complete definitions only. `near` names a global symbol (a function of the same source
    /// file is the surest) whose compile unit is searched first: needed for types private to
    /// one file, such as `struct page_owner` near `page_owner_ops`.
    public func aggregateType(_ name: String, union: Bool, near symbol: String?) throws -> TypeLayout {
        let kind: NameIndex.Kind = union ? .union : .structure
        var die: Dwarf_Die?
        if let symbol, let unit = locator.unit(near: symbol) { die = index.find(kind, name, in: unit) }
        if die == nil { die = index.lookup(kind, name) }
        return try checkedAggregate(die.flatMap(layout(of:)), name, union: union)
    }

    public func typedefTarget(_ name: String) throws -> TypeRef {
        guard let die = index.lookup(.typedef, name) else { throw notFound("typedef '\(name)'") }
        return typeRef(die.typeDIE)
    }

    /// The unit of `symbol` is asked for every name before the whole file is: a name the
    /// DWARF lacks costs a scan of all of it.
    public func enumeratorValue(anyOf names: [String], near symbol: String?) -> (name: String, value: Int64)? {
        if let symbol, let unit = locator.unit(near: symbol) {
            for name in names {
                if let raw = index.enumerator(name, in: unit) { return (name, raw) }
            }
        }
        for name in names {
            if let raw = index.enumerator(name) { return (name, raw) }
        }
        return nil
    }

    /// The declared type of a global or static variable, from its definition when there is one.
    public func variableType(_ name: String) throws -> TypeRef {
        guard let die = variableDIE(name) else { throw notFound("variable '\(name)'") }
        return typeRef(die.typeDIE)
    }

    /// True when the symbol table has a data object of that name or the DWARF has the variable.
    public func hasVariable(_ name: String) -> Bool {
        if symbols.symbol(named: name)?.isData == true { return true }
        return variableDIE(name) != nil
    }

    // MARK: Internals

    /// The compile unit a symbol hint leads to (its DW_AT_name), for diagnostics and tests.
    func unitName(near symbol: String) -> String? { locator.unit(near: symbol)?.name }

    private func variableDIE(_ name: String) -> Dwarf_Die? {
        if let unit = locator.unit(near: name), let die = index.find(.variable, name, in: unit), !die.isDeclaration {
            return die
        }
        return index.lookup(.variable, name)
    }

    private func notFound(_ what: String) -> InputError {
        InputError(file: file.path, reason: "\(what) not found in the DWARF debug info")
    }

    public func layout(of aggregate: AggregateRef) -> TypeLayout? {
        aggregate.die.flatMap(layout(of:))
    }

    /// The layout of a struct/union DIE (cached by DIE offset). A declaration is completed
    /// through a lookup by name.
    func layout(of die: Dwarf_Die) -> TypeLayout? {
        var target = die
        if target.isDeclaration {
            guard let name = target.name, let kind = Self.aggregateKind(target.tag),
                  let complete = index.lookup(kind, name) else { return nil }
            target = complete
        }
        // The cache keeps layouts without the back reference to self (no retain cycle); the
        // copy handed out carries it, so dotted paths work as long as the caller holds it.
        if let cached = layouts[target.offset] { return cached.resolving(with: self) }
        guard let built = buildLayout(target, depth: 0) else { return nil }
        layouts[target.offset] = built
        return built.resolving(with: self)
    }

    private static func aggregateKind(_ tag: Int32) -> NameIndex.Kind? {
        switch Int(tag) {
        case DW_TAG_structure_type, DW_TAG_class_type: return .structure
        case DW_TAG_union_type: return .union
        default: return nil
        }
    }

    /// Anonymous members nest; the depth bound guards against malformed self-containment.
    private func buildLayout(_ die: Dwarf_Die, depth: Int) -> TypeLayout? {
        guard depth < 32, let kind = Self.aggregateKind(die.tag) else { return nil }
        var members: [Member] = []
        die.forEachChild(limit: 1 << 16) { child in
            if child.tag == Int32(DW_TAG_member) { members.append(buildMember(child, depth: depth)) }
            return true
        }
        return TypeLayout(name: die.name ?? "", isUnion: kind == .union, size: die.byteSize ?? 0,
                          members: members, file: file.path, origin: origin)
    }

    private func buildMember(_ die: Dwarf_Die, depth: Int) -> Member {
        let name = die.name ?? ""
        let type = typeRef(die.typeDIE)
        let aggregateDIE = die.typeDIE.flatMap(Self.stripToAggregate)
        var offset = Self.memberLocation(die)
        var bitOffset: Int?
        let bitSize = die.unsigned(DW_AT_bit_size).map { Int(clamping: $0) }
        if let bitSize, bitSize > 0 {
            // Bit position of the field's LSB from the start of the containing type.
            let unitBytes = die.byteSize ?? type.size ?? 1
            var total: Int
            if let dataBitOffset = die.unsigned(DW_AT_data_bit_offset) {
                total = offset &* 8 &+ Int(clamping: dataBitOffset)
            } else if let msbOffset = die.constant(DW_AT_bit_offset, signedData: true) {
                // DWARF 2/3: bits from the storage unit's most significant bit (little endian).
                total = offset &* 8 &+ min(16, max(1, unitBytes)) &* 8 &- Int(clamping: msbOffset) &- bitSize
            } else {
                total = offset &* 8
            }
            let placed = Member.bitfieldPlacement(totalBits: total, bitSize: bitSize, unitBytes: unitBytes)
            offset = placed.offset
            bitOffset = placed.bitOffset
        }
        var nested: TypeLayout?
        if name.isEmpty, let aggregateDIE, !aggregateDIE.isDeclaration {
            nested = buildLayout(aggregateDIE, depth: depth + 1)
        }
        return Member(name: name, offset: offset, bitOffset: bitOffset, bitSize: bitOffset == nil ? nil : bitSize,
                      type: type, nestedLayout: nested, aggregate: aggregateDIE.map { AggregateRef(die: $0) })
    }

    /// DW_AT_data_member_location as a constant or a DW_OP_plus_uconst expression (DWARF 2);
    /// 0 when absent (union members, DWARF 5 bitfields).
    private static func memberLocation(_ die: Dwarf_Die) -> Int {
        guard var attr = die.attribute(DW_AT_data_member_location) else { return 0 }
        var value: Dwarf_Word = 0
        if dwarf_formudata(&attr, &value) == 0 { return Int(clamping: value) }
        var ops: UnsafeMutablePointer<Dwarf_Op>?
        var count = 0
        guard dwarf_getlocation(&attr, &ops, &count) == 0, let ops, count == 1 else { return 0 }
        let atom = Int(ops[0].atom)
        return atom == DW_OP_plus_uconst || atom == DW_OP_constu ? Int(clamping: ops[0].number) : 0
    }

    /// Follows typedefs and qualifiers to a struct/union DIE, or nil for any other type.
    private static func stripToAggregate(_ die: Dwarf_Die) -> Dwarf_Die? {
        var current = die
        for _ in 0..<32 {
            switch Int(current.tag) {
            case DW_TAG_structure_type, DW_TAG_class_type, DW_TAG_union_type: return current
            case DW_TAG_typedef, DW_TAG_const_type, DW_TAG_volatile_type, DW_TAG_restrict_type, DW_TAG_atomic_type:
                guard let next = current.typeDIE else { return nil }
                current = next
            default: return nil
            }
        }
        return nil
    }

    /// Converts a type DIE (nil meaning void) to a TypeRef.
    func typeRef(_ die: Dwarf_Die?, depth: Int = 0) -> TypeRef {
        guard let die, depth < 64 else { return .void }
        let next = { self.typeRef(die.typeDIE, depth: depth + 1) }
        switch Int(die.tag) {
        case DW_TAG_base_type:
            let encoding = die.unsigned(DW_AT_encoding) ?? 0
            let signed = encoding == UInt64(DW_ATE_signed) || encoding == UInt64(DW_ATE_signed_char)
            return .base(name: die.name ?? "", size: die.byteSize ?? 0, signed: signed)
        case DW_TAG_pointer_type, DW_TAG_reference_type, DW_TAG_rvalue_reference_type:
            return .pointer(next())
        case DW_TAG_const_type, DW_TAG_volatile_type, DW_TAG_restrict_type, DW_TAG_atomic_type:
            return next()
        case DW_TAG_typedef:
            return .typedef(name: die.name ?? "", next())
        case DW_TAG_structure_type, DW_TAG_class_type:
            return .structure(name: die.name ?? "", size: die.byteSize ?? 0)
        case DW_TAG_union_type:
            return .union(name: die.name ?? "", size: die.byteSize ?? 0)
        case DW_TAG_enumeration_type:
            return .enumeration(name: die.name ?? "", size: die.byteSize ?? 0)
        case DW_TAG_subroutine_type:
            return .function
        case DW_TAG_array_type:
            var type = next()
            let dimensions = die.children(limit: 64).filter { $0.tag == Int32(DW_TAG_subrange_type) }
            for dimension in dimensions.reversed() { type = .array(type, count: Self.count(of: dimension)) }
            return dimensions.isEmpty ? .array(type, count: nil) : type
        default:
            return .void
        }
    }

    /// Element count of one array dimension; nil when unknown (flexible or variable length).
    private static func count(of subrange: Dwarf_Die) -> Int? {
        if let count = subrange.unsigned(DW_AT_count) { return Int(clamping: count) }
        guard let upper = subrange.constant(DW_AT_upper_bound, signedData: true) else { return nil }
        let lower = subrange.constant(DW_AT_lower_bound, signedData: true) ?? 0
        let (span, overflow) = upper.subtractingReportingOverflow(lower)
        guard !overflow, span < Int64(Int32.max) else { return nil }
        return max(0, Int(span) + 1)
    }
}
