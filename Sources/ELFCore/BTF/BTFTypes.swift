/// Answers the walkers' type questions from a kernel's BTF, as DebugTypes does from DWARF.
/// BTF has one namespace of types (no compile units: a `near` hint cannot help; the kernel
/// types vmowner reads have one definition each) and no global variables except per-cpu
/// ones: the types of the globals vmowner reads come from KnownGlobals.
/// Not thread-safe, like DebugTypes: callers resolve their layouts once, up front.
public final class BTFTypes: KernelTypes {
    let data: BTFData
    /// The globals' types, set once the dump's symbols and VMCOREINFO are known.
    var globals: KnownGlobals?

    private var layouts: [UInt32: TypeLayout] = [:]
    private lazy var names = NameTables(data)

    public var origin: String { "BTF" }
    public var source: String { data.source }
    public var typeCount: Int { data.typeCount }
    public var byteCount: Int { data.bytes.count }

    init(data: BTFData) {
        self.data = data
    }

    /// A BTF blob in memory; `source` names where it came from, for messages.
    public convenience init(bytes: [UInt8], source: String) throws {
        try self.init(data: BTFData(bytes: bytes, source: source))
    }

    /// A raw BTF blob, as `--btf FILE` gives it (/sys/kernel/btf/vmlinux, `pahole
    /// --btf_encode_detached`, `bpftool btf dump file ... format raw`).
    public convenience init(path: String) throws {
        let file = try MappedFile(path: path)
        guard file.size <= UInt64(BTFData.maxBytes) else {
            throw InputError(file: path, reason: "BTF: \(file.size) bytes, more than any kernel's BTF")
        }
        try self.init(bytes: Array(try file.bytes(at: 0, count: Int(file.size), what: "BTF")), source: path)
    }

    public func aggregateType(_ name: String, union: Bool, near symbol: String?) throws -> TypeLayout {
        let candidates = (union ? names.unions : names.structures)[name] ?? []
        return try checkedAggregate(candidates.lazy.compactMap(layout(ofID:)).first, name, union: union)
    }

    public func typedefTarget(_ name: String) throws -> TypeRef {
        guard let id = names.typedefs[name]?.first, let record = data.record(id) else {
            throw InputError(file: source, reason: "typedef '\(name)' not found in the BTF")
        }
        return typeRef(record.sizeOrType)
    }

    public func enumeratorValue(anyOf candidates: [String], near symbol: String?) -> (name: String, value: Int64)? {
        for name in candidates {
            if let value = names.enumerators[name] { return (name, value) }
        }
        return nil
    }

    public func variableType(_ name: String) throws -> TypeRef {
        guard let globals else { throw InputError(file: source, reason: "the type of \(name) is unknown without the kernel's symbols") }
        return try globals.type(of: name, types: self)
    }

    public func hasVariable(_ name: String) -> Bool {
        globals?.symbols.isData(name) ?? false
    }

    public func layout(of aggregate: AggregateRef) -> TypeLayout? {
        layout(ofID: aggregate.btfID)
    }

    /// The id of a complete struct (or union) of that name, for KnownGlobals.
    func aggregateID(_ name: String, union: Bool = false) -> UInt32? {
        (union ? names.unions : names.structures)[name]?.first
    }

    // MARK: Layouts

    /// A struct or union by id (a forward declaration is completed by name), cached.
    private func layout(ofID id: UInt32) -> TypeLayout? {
        guard var record = data.record(id) else { return nil }
        var target = id
        if record.kind == .forward {
            let name = data.string(record.nameOffset)
            guard let complete = (record.kindFlag ? names.unions : names.structures)[name]?.first,
                  let found = data.record(complete) else { return nil }
            target = complete
            record = found
        }
        if let cached = layouts[target] { return cached.resolving(with: self) }
        guard let built = buildLayout(record, depth: 0) else { return nil }
        layouts[target] = built
        return built.resolving(with: self)
    }

    /// Anonymous members nest; the depth bound guards against malformed self-containment.
    private func buildLayout(_ record: BTFData.Record, depth: Int) -> TypeLayout? {
        guard depth < 32, record.kind == .structure || record.kind == .union else { return nil }
        var members: [Member] = []
        members.reserveCapacity(record.vlen)
        for i in 0..<record.vlen {
            members.append(buildMember(at: record.extra + 12 * i, bitfieldOffsets: record.kindFlag, depth: depth))
        }
        return TypeLayout(name: data.string(record.nameOffset), isUnion: record.kind == .union,
                          size: Int(record.sizeOrType), members: members, file: source, origin: origin)
    }

    /// One btf_member: name, type, and offset in bits; with the struct's kind_flag the offset
    /// word holds a bitfield's size in its top 8 bits. Without it (BTF before kernel 5.0's
    /// kind_flag, or old pahole) a bitfield's member type is an INT carrying its bit count and
    /// bit offset.
    private func buildMember(at at: Int, bitfieldOffsets: Bool, depth: Int) -> Member {
        let name = data.string(data.u32(at))
        let typeID = data.u32(at + 4)
        let rawOffset = data.u32(at + 8)
        let type = typeRef(typeID)
        var bits = Int(bitfieldOffsets ? rawOffset & 0xff_ffff : rawOffset)
        var bitSize = bitfieldOffsets ? Int(rawOffset >> 24) : 0
        if !bitfieldOffsets, let int = data.record(typeID), int.kind == .int {
            let encoding = data.u32(int.extra)
            let intBits = Int(encoding & 0xff), intOffset = Int((encoding >> 16) & 0xff)
            if intOffset != 0 || (intBits != 0 && intBits != Int(int.sizeOrType) &* 8) {
                bitSize = intBits
                bits &+= intOffset
            }
        }
        var offset = bits / 8
        var bitOffset: Int?
        if bitSize > 0 {
            let placed = Member.bitfieldPlacement(totalBits: bits, bitSize: bitSize, unitBytes: type.size ?? 1)
            offset = placed.offset
            bitOffset = placed.bitOffset
        }
        let aggregateID = strippedToAggregate(typeID)
        var nested: TypeLayout?
        if name.isEmpty, let aggregateID, let inner = data.record(aggregateID), inner.kind != .forward {
            nested = buildLayout(inner, depth: depth + 1)
        }
        return Member(name: name, offset: offset, bitOffset: bitOffset, bitSize: bitOffset == nil ? nil : bitSize,
                      type: type, nestedLayout: nested, aggregate: aggregateID.map { AggregateRef(btfID: $0) })
    }

    /// Follows typedefs and qualifiers to a struct, union or forward declaration.
    private func strippedToAggregate(_ id: UInt32) -> UInt32? {
        var current = id
        for _ in 0..<32 {
            guard let record = data.record(current) else { return nil }
            switch record.kind {
            case .structure, .union, .forward: return current
            case .typedef, .const, .volatile, .restrict, .typeTag: current = record.sizeOrType
            default: return nil
            }
        }
        return nil
    }

    // MARK: Type references

    /// Type `id` as C would name it, for diagnostics (and the fuzz target, which visits all).
    public func typeDescription(_ id: UInt32) -> String { typeRef(id).description }

    /// Converts type `id` (0 meaning void) to a TypeRef.
    func typeRef(_ id: UInt32, depth: Int = 0) -> TypeRef {
        guard depth < 64, let record = data.record(id) else { return .void }
        let name = { self.data.string(record.nameOffset) }
        let next = { self.typeRef(record.sizeOrType, depth: depth + 1) }
        let size = Int(record.sizeOrType)
        switch record.kind {
        case .int:
            // BTF_INT_SIGNED is bit 24 of the encoding word.
            return .base(name: name(), size: size, signed: data.u32(record.extra) & (1 << 24) != 0)
        case .float: return .base(name: name(), size: size, signed: true)
        case .pointer: return .pointer(next())
        case .array:
            // A flexible array (`x[]`) and a zero-length one both have 0 elements.
            let elements = data.u32(record.extra + 8)
            return .array(typeRef(data.u32(record.extra), depth: depth + 1), count: elements == 0 ? nil : Int(elements))
        case .structure: return .structure(name: name(), size: size)
        case .union: return .union(name: name(), size: size)
        case .enumeration, .enumeration64: return .enumeration(name: name(), size: size)
        case .forward: return record.kindFlag ? .union(name: name(), size: 0) : .structure(name: name(), size: 0)
        case .typedef: return .typedef(name: name(), next())
        case .const, .volatile, .restrict, .typeTag, .variable: return next()
        case .function, .functionPrototype: return .function
        case .dataSection, .declarationTag: return .void
        }
    }
}

/// The names BTFTypes looks up, indexed in one pass over the types when first asked.
private struct NameTables {
    var structures: [String: [UInt32]] = [:]
    var unions: [String: [UInt32]] = [:]
    var typedefs: [String: [UInt32]] = [:]
    /// The first value of each enumerator name (C gives one name one value per program; a
    /// name repeated in two files' private enums keeps the first).
    var enumerators: [String: Int64] = [:]

    init(_ data: BTFData) {
        for id in 1...UInt32(max(1, data.typeCount)) {
            guard let record = data.record(id) else { continue }
            switch record.kind {
            case .structure, .union, .typedef:
                guard record.nameOffset != 0 else { continue }
                let name = data.string(record.nameOffset)
                switch record.kind {
                case .structure: structures[name, default: []].append(id)
                case .union: unions[name, default: []].append(id)
                default: typedefs[name, default: []].append(id)
                }
            case .enumeration:
                // kind_flag marks a signed enum (pahole 1.24+); older BTF wrote every value as s32.
                for i in 0..<record.vlen {
                    let at = record.extra + 8 * i
                    let raw = data.u32(at + 4)
                    let value = record.kindFlag || raw >> 31 == 0 ? Int64(Int32(bitPattern: raw)) : Int64(raw)
                    add(data.string(data.u32(at)), value)
                }
            case .enumeration64:
                for i in 0..<record.vlen {
                    let at = record.extra + 12 * i
                    let raw = UInt64(data.u32(at + 4)) | UInt64(data.u32(at + 8)) << 32
                    add(data.string(data.u32(at)), Int64(bitPattern: raw))
                }
            default:
                continue
            }
        }
    }

    private mutating func add(_ name: String, _ value: Int64) {
        if !name.isEmpty, enumerators[name] == nil { enumerators[name] = value }
    }
}
