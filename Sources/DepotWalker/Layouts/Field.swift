import ELFCore

/// One scalar member of a kernel struct as a reader needs it: where it is and how wide it is.
/// Built only from a member the DWARF layer checked to lie inside its struct, and only when
/// its width is 1, 2, 4 or 8 bytes: so a load from a record of the struct's size is in bounds.
public struct Field: Sendable {
    public let offset: Int
    public let size: Int

    /// `member` of `layout`, relative to `base` bytes into an enclosing record of `recordSize`.
    init(_ member: Member, of layout: TypeLayout, at base: Int = 0, in recordSize: Int? = nil) throws {
        let size = member.byteSize
        let end = recordSize ?? layout.size
        guard [1, 2, 4, 8].contains(size), base >= 0, base <= end, member.offset <= end - base - size else {
            throw InputError(file: layout.file, reason: "\(layout.name) member '\(member.name)' of \(size) bytes at offset \(member.offset) is not a scalar field vmowner can read")
        }
        offset = base + member.offset
        self.size = size
    }

    /// Reads the field as an unsigned integer from a record in local memory (at least as many
    /// bytes as the struct the field was checked against).
    @inline(__always)
    public func unsigned(_ record: UnsafeRawPointer) -> UInt64 {
        switch size {
        case 1: return UInt64(record.load(fromByteOffset: offset, as: UInt8.self))
        case 2: return UInt64(record.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        case 4: return UInt64(record.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        default: return record.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        }
    }

    /// Reads the field as a signed integer (sign-extended from its width).
    @inline(__always)
    public func signed(_ record: UnsafeRawPointer) -> Int64 {
        switch size {
        case 1: return Int64(record.load(fromByteOffset: offset, as: Int8.self))
        case 2: return Int64(record.loadUnaligned(fromByteOffset: offset, as: Int16.self))
        case 4: return Int64(record.loadUnaligned(fromByteOffset: offset, as: Int32.self))
        default: return record.loadUnaligned(fromByteOffset: offset, as: Int64.self)
        }
    }

    /// Reads the field from the dumped kernel's memory at `base` (bounds-checked there).
    public func read(_ memory: KernelMemory, at base: UInt64) throws -> UInt64 {
        try memory.unsigned(base &+ UInt64(offset), size: size)
    }
}

extension TypeLayout {
    /// A scalar member, checked (see Field.init).
    func field(_ path: String) throws -> Field { try Field(try member(path), of: self) }
    func optionalField(_ path: String) throws -> Field? { try memberIfPresent(path).map { try Field($0, of: self) } }
}

/// A fixed-size byte array member (`char comm[16]`), checked by the DWARF layer to lie inside
/// its struct.
public struct ByteArrayField: Sendable {
    public let offset: Int
    public let size: Int

    init?(_ member: Member?) {
        guard let member, member.byteSize > 0 else { return nil }
        offset = member.offset
        size = member.byteSize
    }
}
