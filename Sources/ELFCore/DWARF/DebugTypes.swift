import CLibDW

/// Answers layout questions from the vmlinux DWARF: struct/union layouts, typedef targets,
/// enumerator values and variable types. Looks up a handful of names on demand; never builds
/// an index of all DIEs (see NameIndex and UnitLocator for how names are found).
/// Not thread-safe: it fills caches as it answers; use it from one thread (callers resolve
/// their layouts once, up front).
public final class DebugTypes {
    let file: ELFFile
    private let index: NameIndex
    private let locator: UnitLocator
    private let symbols: ELFSymbolTable
    private var layouts: [UInt64: TypeLayout] = [:]

    init(file: ELFFile, symbols: ELFSymbolTable) {
        self.file = file
        self.symbols = symbols
        index = NameIndex(dwarf: file.dwarf)
        locator = UnitLocator(dwarf: file.dwarf, symbols: symbols, index: index)
    }

    /// A struct by tag name, complete definitions only. `near` names a global symbol (a
    /// function of the same source file is the surest) whose compile unit is searched first:
    /// needed for types private to one file, such as `struct page_owner` near `page_owner_ops`.
    public func structType(_ name: String, near symbol: String? = nil) throws -> TypeLayout {
        try aggregate(.structure, name, near: symbol)
    }

    public func unionType(_ name: String, near symbol: String? = nil) throws -> TypeLayout {
        try aggregate(.union, name, near: symbol)
    }

    /// What a typedef names, e.g. "depot_stack_handle_t" -> .typedef("u32", ...).
    public func typedefTarget(_ name: String) throws -> TypeRef {
        guard let die = index.lookup(.typedef, name) else { throw notFound("typedef '\(name)'") }
        return typeRef(die.typeDIE)
    }

    /// The value of an enumerator of any enum, or nil when no enum in the DWARF has it.
    public func enumerator(_ name: String, near symbol: String? = nil) -> Int64? {
        if let symbol, let unit = locator.unit(near: symbol), let value = index.enumerator(name, in: unit) {
            return value
        }
        return index.enumerator(name)
    }

    /// An enumerator as a `T` inside `range`: nil when no enum in the DWARF has it, an error
    /// naming it when its value is outside the range (a corrupt or crafted DWARF): what the
    /// caller shifts, indexes or counts with is then known to fit.
    public func enumerator<T: FixedWidthInteger>(_ name: String, in range: ClosedRange<T>, near symbol: String? = nil) throws -> T? {
        guard let raw = enumerator(name, near: symbol) else { return nil }
        return try checked(name, raw, range)
    }

    /// The value of the first of `names` (a kernel renamed some enumerators) that the unit of
    /// `symbol` has, else the first the whole DWARF has, checked as above. The unit is asked
    /// for every name before the whole file is: a name the DWARF lacks costs a scan of all of it.
    public func enumerator<T: FixedWidthInteger>(anyOf names: [String], in range: ClosedRange<T>, near symbol: String) throws -> T? {
        if let unit = locator.unit(near: symbol) {
            for name in names {
                if let raw = index.enumerator(name, in: unit) { return try checked(name, raw, range) }
            }
        }
        for name in names {
            if let raw = index.enumerator(name) { return try checked(name, raw, range) }
        }
        return nil
    }

    private func checked<T: FixedWidthInteger>(_ name: String, _ raw: Int64, _ range: ClosedRange<T>) throws -> T {
        guard let value = T(exactly: raw), range.contains(value) else {
            throw InputError(file: file.path, reason: "enumerator \(name) = \(raw) in the DWARF is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// An enumerator that numbers a bit of a 64-bit word (a flag's position).
    public func bitNumber(_ name: String, near symbol: String? = nil) throws -> UInt64? {
        try enumerator(name, in: UInt64(0)...63, near: symbol)
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

    private func aggregate(_ kind: NameIndex.Kind, _ name: String, near symbol: String?) throws -> TypeLayout {
        var die: Dwarf_Die?
        if let symbol, let unit = locator.unit(near: symbol) { die = index.find(kind, name, in: unit) }
        if die == nil { die = index.lookup(kind, name) }
        let what = "\(kind == .union ? "union" : "struct") \(name)"
        guard let die, let layout = layout(of: die) else { throw notFound("type '\(what)'") }
        // Every member offset is checked against this size, and readers size buffers by it.
        guard layout.size > 0, layout.size <= TypeLayout.maxSize else {
            throw InputError(file: file.path, reason: "\(what) has size \(layout.size) in the DWARF, which no kernel type has")
        }
        return layout
    }

    private func notFound(_ what: String) -> InputError {
        InputError(file: file.path, reason: "\(what) not found in the DWARF debug info")
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
                          members: members, file: file.path, resolver: nil)
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
            // The storage unit is the field's type (at most 16 bytes: __int128); the clamp
            // keeps a corrupt byte size from breaking the arithmetic below.
            let unitBytes = min(16, max(1, die.byteSize ?? type.size ?? 1))
            let unitBits = unitBytes &* 8
            var total: Int
            if let dataBitOffset = die.unsigned(DW_AT_data_bit_offset) {
                total = offset &* 8 &+ Int(clamping: dataBitOffset)
            } else if let msbOffset = die.constant(DW_AT_bit_offset, signedData: true) {
                // DWARF 2/3: bits from the storage unit's most significant bit (little endian).
                total = offset &* 8 &+ unitBits &- Int(clamping: msbOffset) &- bitSize
            } else {
                total = offset &* 8
            }
            total = max(0, total)
            offset = (total / unitBits) &* unitBytes
            bitOffset = total &- offset &* 8
            if bitOffset! &+ bitSize > unitBits {
                // Straddles its natural storage unit (packed struct): count from the byte instead.
                offset = total / 8
                bitOffset = total % 8
            }
        }
        var nested: TypeLayout?
        if name.isEmpty, let aggregateDIE, !aggregateDIE.isDeclaration {
            nested = buildLayout(aggregateDIE, depth: depth + 1)
        }
        return Member(name: name, offset: offset, bitOffset: bitOffset, bitSize: bitOffset == nil ? nil : bitSize,
                      type: type, nestedLayout: nested, aggregate: aggregateDIE)
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
