import CLibDW

/// A resolved struct or union: its direct members in declaration order.
public struct TypeLayout {
    public let name: String
    public let isUnion: Bool
    public let size: Int
    public let members: [Member]
    /// The vmlinux path, for error messages.
    let file: String
    /// Resolves named struct members when a dotted path goes through them (nil in nested and
    /// cached layouts: the outermost layout's resolver serves the whole path).
    let resolver: DebugTypes?

    /// The member at `path`, looking through anonymous struct/union members; dotted paths
    /// ("css.flags") go into named struct/union members. The offset is relative to this type.
    public func member(_ path: String) throws -> Member {
        if let found = memberIfPresent(path) { return found }
        let kind = isUnion ? "union" : "struct"
        throw InputError(file: file, reason: "\(kind) \(name.isEmpty ? "<anonymous>" : name) has no member '\(path)' in the DWARF")
    }

    public func memberIfPresent(_ path: String) -> Member? {
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

    func resolving(with resolver: DebugTypes) -> TypeLayout {
        TypeLayout(name: name, isUnion: isUnion, size: size, members: members, file: file, resolver: resolver)
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
    /// The struct/union DIE of a named aggregate member, resolved when a path goes into it.
    let aggregate: Dwarf_Die?

    func shifted(by bytes: Int) -> Member {
        Member(name: name, offset: offset &+ bytes, bitOffset: bitOffset, bitSize: bitSize, type: type,
               nestedLayout: nestedLayout, aggregate: aggregate)
    }
}
