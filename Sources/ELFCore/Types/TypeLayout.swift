/// A resolved struct or union: its direct members in declaration order.
public struct TypeLayout {
    public let name: String
    public let isUnion: Bool
    public let size: Int
    public let members: [Member]
    /// The file the types came from and their kind ("DWARF", "BTF"), for error messages.
    public let file: String
    let origin: String
    /// Resolves named struct members when a dotted path goes through them (nil in nested and
    /// cached layouts: the outermost layout's resolver serves the whole path).
    let resolver: (any KernelTypes)?

    /// The member at `path`, looking through anonymous struct/union members; dotted paths
    /// ("css.flags") go into named struct/union members. The offset is relative to this type.
    /// The member is checked to lie inside this type (see `checked`).
    public func member(_ path: String) throws -> Member {
        if let found = try memberIfPresent(path) { return found }
        throw InputError(file: file, reason: "\(kindAndName) has no member '\(path)' in the \(origin)")
    }

    /// The member at `path`, nil when the type has none; an error when the DWARF places it
    /// outside the type.
    public func memberIfPresent(_ path: String) throws -> Member? {
        try lookup(path).map { try checked($0, path) }
    }

    /// The largest struct vmowner reads (pglist_data of a big NUMA config is well below).
    public static let maxSize = 1 << 24

    /// A member is usable when its bytes (a bitfield: its bits) lie inside this type: then a
    /// load of its bytes from a buffer of `size` bytes stays inside the buffer (Field refuses
    /// to load a bitfield's storage unit past the end). Offsets come from the DWARF or BTF, which may
    /// be corrupt or crafted.
    private func checked(_ m: Member, _ path: String) throws -> Member {
        func fault(_ what: String) -> InputError {
            InputError(file: file, reason: "\(kindAndName) member '\(path)' \(what) in the \(origin)")
        }
        guard size > 0, size <= Self.maxSize else { throw fault("belongs to a type of \(size) bytes") }
        guard m.offset >= 0, m.offset <= size else { throw fault("at offset \(m.offset) lies outside the type's \(size) bytes") }
        if let bitOffset = m.bitOffset, let bitSize = m.bitSize {
            // A bitfield's bits lie inside the type; its storage unit need not (packed structs).
            guard bitSize > 0, bitSize <= 64, bitOffset >= 0, bitOffset <= 64 - bitSize,
                  m.offset * 8 + bitOffset + bitSize <= size * 8 else {
                throw fault("has bits \(bitOffset)+\(bitSize) at offset \(m.offset), outside the type's \(size) bytes")
            }
            return m
        }
        let bytes = m.byteSize
        guard bytes >= 0, bytes <= size - m.offset else {
            throw fault("at offset \(m.offset), \(bytes) bytes, lies outside the type's \(size) bytes")
        }
        return m
    }

    private var kindAndName: String { "\(isUnion ? "union" : "struct") \(name.isEmpty ? "<anonymous>" : name)" }

    private func lookup(_ path: String) -> Member? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, !parts.contains(where: \.isEmpty) else { return nil }
        var layout = self
        var base = 0
        let resolver = self.resolver
        for (position, part) in parts.enumerated() {
            guard let found = layout.direct(part)?.shifted(by: base) else { return nil }
            if position == parts.count - 1 { return found }
            guard let inner = found.nestedLayout ?? found.aggregate.flatMap({ resolver?.layout(of: $0) }) else { return nil }
            layout = inner
            base = found.offset
        }
        return nil
    }

    init(name: String, isUnion: Bool, size: Int, members: [Member], file: String, origin: String, resolver: (any KernelTypes)? = nil) {
        self.name = name; self.isUnion = isUnion; self.size = size; self.members = members
        self.file = file; self.origin = origin; self.resolver = resolver
    }

    func resolving(with resolver: any KernelTypes) -> TypeLayout {
        TypeLayout(name: name, isUnion: isUnion, size: size, members: members, file: file, origin: origin, resolver: resolver)
    }

    /// A member of this type by name, searching anonymous members after the named ones.
    private func direct(_ name: String) -> Member? {
        if let named = members.first(where: { $0.name == name }) { return named }
        for anonymous in members where anonymous.name.isEmpty {
            if let inner = anonymous.nestedLayout?.direct(name) { return inner.shifted(by: anonymous.offset) }
        }
        return nil
    }
}

/// One member of a TypeLayout.
public struct Member {
    /// "" for an anonymous struct/union member.
    public let name: String
    /// Bytes from the start of the containing TypeLayout. For a bitfield: the start of the
    /// naturally aligned storage unit (of the member's type size) holding its first bit.
    public let offset: Int
    /// For a bitfield: bit position of its least significant bit counted from `offset * 8`,
    /// LSB-first as x86_64 lays it out. nil for ordinary members.
    public let bitOffset: Int?
    public let bitSize: Int?
    public let type: TypeRef
    /// Size of the member's type (0 for a flexible array).
    public var byteSize: Int { type.size ?? 0 }

    /// The layout of an anonymous struct/union member, offsets relative to this member.
    let nestedLayout: TypeLayout?
    /// The struct/union type of a named aggregate member, resolved when a path goes into it.
    let aggregate: AggregateRef?

    /// Where a bitfield lies, from the position of its least significant bit in the containing
    /// type (`totalBits`), as both DWARF and BTF give it: the storage unit is the field's type
    /// (`unitBytes`, at most 16: __int128) holding its first bit, unless the field straddles
    /// that unit (packed structs): then it counts from the byte holding its first bit.
    static func bitfieldPlacement(totalBits: Int, bitSize: Int, unitBytes: Int) -> (offset: Int, bitOffset: Int) {
        let unitBytes = min(16, max(1, unitBytes))
        let unitBits = unitBytes &* 8
        let total = max(0, totalBits)
        let offset = (total / unitBits) &* unitBytes
        let bitOffset = total &- offset &* 8
        if bitOffset &+ bitSize > unitBits { return (total / 8, total % 8) }
        return (offset, bitOffset)
    }

    func shifted(by bytes: Int) -> Member {
        Member(name: name, offset: offset &+ bytes, bitOffset: bitOffset, bitSize: bitSize, type: type,
               nestedLayout: nestedLayout, aggregate: aggregate)
    }
}
