/// The bytes of a dump file as its format defines them, wherever they really sit: a plain
/// mapped file, the records of a flattened stream, or the blocks of an .xz file. Readers of
/// kdump-compressed and ELF dumps work on this, so every container combines with every format.
/// Implementations are safe to use from several threads at once.
public protocol DumpBytes: AnyObject, Sendable {
    /// The file on disk, for messages.
    var path: String { get }
    /// Size of the logical file (after reassembly or decompression).
    var size: UInt64 { get }
    /// A pointer to `count` bytes at `offset` that stays valid as long as this object, when they
    /// are stored plainly and contiguously; nil otherwise (then use `copy`).
    func stablePointer(at offset: UInt64, count: Int) -> UnsafeRawPointer?
    /// Copies `buffer.count` bytes at `offset`. Returns false when any of them lies past the end;
    /// throws `InputError` when the container itself is corrupt there.
    func copy(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Bool
}

extension DumpBytes {
    /// Bytes that must be there (headers, tables): a missing byte is an error naming the file.
    public func bytes(at offset: UInt64, count: Int, what: String) throws -> [UInt8] {
        guard count >= 0 else { throw InputError(file: path, reason: "\(what): negative size \(count)") }
        var out = [UInt8](repeating: 0, count: count)
        let complete = try out.withUnsafeMutableBytes { try copy(at: offset, into: $0) }
        guard complete else {
            throw InputError(file: path, reason: "truncated: \(what) at offset \(offset) (+\(count) bytes) lies past the end of the file (\(size) bytes)")
        }
        return out
    }

    /// True when `count` bytes at `offset` lie inside the logical file.
    public func contains(offset: UInt64, count: UInt64) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(count)
        return !overflow && end <= size
    }
}

/// Little-endian and big-endian loads from byte arrays, bounds-checked by the caller's sizes.
extension Array where Element == UInt8 {
    func le<T: FixedWidthInteger>(_ type: T.Type, _ at: Int) -> T {
        guard at >= 0, at + MemoryLayout<T>.size <= count else { return 0 }
        return withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }

    func be<T: FixedWidthInteger>(_ type: T.Type, _ at: Int) -> T {
        guard at >= 0, at + MemoryLayout<T>.size <= count else { return 0 }
        return withUnsafeBytes { T(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }
}

/// A plain file on disk, memory-mapped: every byte has a stable pointer.
public final class MappedBytes: DumpBytes, @unchecked Sendable {
    public let file: MappedFile
    /// The name in messages: the file's own, or the .xz it was decompressed from.
    public let path: String
    public var size: UInt64 { file.size }

    public init(file: MappedFile, path: String? = nil) {
        self.file = file
        self.path = path ?? file.path
    }

    public func stablePointer(at offset: UInt64, count: Int) -> UnsafeRawPointer? {
        guard count >= 0 else { return nil }
        return file.pointer(at: offset, count: UInt64(count))
    }

    public func copy(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return contains(offset: offset, count: 0) }
        guard let p = file.pointer(at: offset, count: UInt64(buffer.count)) else { return false }
        base.copyMemory(from: p, byteCount: buffer.count)
        return true
    }
}
