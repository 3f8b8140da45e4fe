/// Reads the dumped kernel's memory by virtual address. Every read is bounds-checked; a read that
/// falls outside the dump throws a `MemoryFault`, never traps.
public final class KernelMemory: @unchecked Sendable {
    public let physical: PhysicalMemory
    public let translation: KernelTranslation

    public init(physical: PhysicalMemory, translation: KernelTranslation) {
        self.physical = physical
        self.translation = translation
    }

    public func physicalAddress(of va: UInt64) throws -> UInt64 {
        try translation.translate(va, memory: physical).physical
    }

    /// Copies `buffer.count` bytes at virtual `va`, translating page by page as needed.
    public func read(_ va: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let at = va &+ UInt64(done)
            let (pa, contiguous) = try translation.translate(at, memory: physical)
            let n = Int(min(UInt64(buffer.count - done), contiguous))
            try physical.read(physical: pa, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)]))
            done += n
        }
    }

    /// A pointer straight into the dump for `count` bytes at `va` when they are contiguous there.
    public func directPointer(_ va: UInt64, count: Int) -> UnsafeRawPointer? {
        guard let (pa, contiguous) = try? translation.translate(va, memory: physical),
              contiguous >= UInt64(count) else { return nil }
        return physical.directPointer(physical: pa, count: count)
    }

    /// A pointer straight into the dump at `va` and how many bytes from there on are contiguous
    /// both virtually and in the file.
    public func directSpan(_ va: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? {
        guard let (pa, contiguous) = try? translation.translate(va, memory: physical),
              let span = physical.directSpan(physical: pa) else { return nil }
        return (span.pointer, min(span.count, contiguous))
    }

    public func bytes(_ va: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0, count <= 1 << 30 else { throw MemoryFault.badAddress(virtual: va) }
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try read(va, into: $0) }
        return out
    }

    @inline(__always)
    public func load<T: FixedWidthInteger>(_ type: T.Type, _ va: UInt64) throws -> T {
        var value: T = 0
        try withUnsafeMutableBytes(of: &value) { try read(va, into: $0) }
        return T(littleEndian: value)
    }

    public func u8(_ va: UInt64) throws -> UInt8 { try load(UInt8.self, va) }
    public func u16(_ va: UInt64) throws -> UInt16 { try load(UInt16.self, va) }
    public func u32(_ va: UInt64) throws -> UInt32 { try load(UInt32.self, va) }
    public func u64(_ va: UInt64) throws -> UInt64 { try load(UInt64.self, va) }

    /// An unsigned integer of 1, 2, 4 or 8 bytes.
    public func unsigned(_ va: UInt64, size: Int) throws -> UInt64 {
        switch size {
        case 1: return UInt64(try u8(va))
        case 2: return UInt64(try u16(va))
        case 4: return UInt64(try u32(va))
        default: return try u64(va)
        }
    }

    /// A NUL-terminated string of at most `max` bytes (reads in small steps, so a string near the
    /// end of a mapping does not fault for bytes it does not have).
    public func cString(_ va: UInt64, max: Int = 256) throws -> String {
        var bytes: [UInt8] = []
        var at = va
        while bytes.count < max {
            let chunk = Swift.min(64, max - bytes.count, Int(4096 - (at & 4095)))
            let part = try self.bytes(at, count: chunk)
            if let nul = part.firstIndex(of: 0) {
                bytes.append(contentsOf: part[..<nul])
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.append(contentsOf: part)
            at &+= UInt64(chunk)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
