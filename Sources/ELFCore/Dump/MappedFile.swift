#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file. Dumps are tens of GB: they are mapped, never read whole,
/// and every access is bounds-checked so a truncated or crafted file cannot make us trap.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: UInt64
    private let base: UnsafeRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw InputError(file: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw InputError(file: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw InputError(file: path, reason: "not a regular file")
        }
        size = UInt64(max(info.st_size, 0))
        if size == 0 {
            base = nil
            return
        }
        guard let mapped = mmap(nil, Int(size), PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw InputError(file: path, reason: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), Int(size)) }
    }

    /// Hints that a range will be read front to back soon (the page walk).
    public func adviseSequential(offset: UInt64, count: UInt64) {
        guard let base, offset < size else { return }
        let pageMask: UInt64 = 4095
        let start = offset & ~pageMask
        let length = min(count &+ (offset - start), size - start)
        madvise(UnsafeMutableRawPointer(mutating: base + Int(start)), Int(length), MADV_SEQUENTIAL | MADV_WILLNEED)
    }

    /// Tells the kernel a walk is done with the mapped pages of a range, so that they leave
    /// this process's resident set (they stay in the page cache). Keeps the RSS of a walk over a
    /// tens-of-GB dump bounded; a later read of the range simply maps the pages again.
    public static func releaseResidentPages(_ start: UnsafeRawPointer, count: Int) {
        let page = 4096
        let first = (Int(bitPattern: start) + page - 1) & ~(page - 1)
        let last = (Int(bitPattern: start) + count) & ~(page - 1)
        guard last > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(p, last - first, MADV_DONTNEED)
    }

    /// True when `count` bytes starting at `offset` lie inside the file.
    @inline(__always)
    public func contains(offset: UInt64, count: UInt64) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(count)
        return !overflow && end <= size
    }

    /// A pointer to `count` bytes at `offset`, or nil when the range leaves the file.
    @inline(__always)
    public func pointer(at offset: UInt64, count: UInt64) -> UnsafeRawPointer? {
        guard let base, contains(offset: offset, count: count) else { return nil }
        return base + Int(offset)
    }

    /// The bytes at `offset`, or an error naming the file when they lie past its end.
    public func bytes(at offset: UInt64, count: Int, what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, let p = pointer(at: offset, count: UInt64(count)) else {
            throw InputError(file: path, reason: "truncated: \(what) at offset \(offset) (+\(count) bytes) lies past the end of the file (\(size) bytes)")
        }
        return UnsafeRawBufferPointer(start: p, count: count)
    }

    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: UInt64, what: String) throws -> T {
        let raw = try bytes(at: offset, count: MemoryLayout<T>.size, what: what)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }
}
