import ELFCore

/// One member of a kernel struct as a reader needs it: where it is and how wide it is.
public struct Field: Sendable {
    public let offset: Int
    public let size: Int

    public init(offset: Int, size: Int) {
        self.offset = offset
        self.size = size
    }

    init(_ member: Member) {
        self.init(offset: member.offset, size: member.byteSize)
    }

    /// Reads the field as an unsigned integer from a record in local memory.
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

    /// Reads the field from the dumped kernel's memory at `base`.
    public func read(_ memory: KernelMemory, at base: UInt64) throws -> UInt64 {
        try memory.unsigned(base &+ UInt64(offset), size: size)
    }
}

extension TypeLayout {
    func field(_ path: String) throws -> Field { Field(try member(path)) }
    func optionalField(_ path: String) -> Field? { memberIfPresent(path).map(Field.init) }
}
