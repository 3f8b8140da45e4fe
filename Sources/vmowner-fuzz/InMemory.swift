import ELFCore
#if canImport(Glibc)
import Glibc
#endif

/// A fuzz input as the bytes of a dump file: a private copy, so that the pointers handed out
/// stay valid (and so that ASan sees reads past its end).
final class MemoryBytes: DumpBytes, @unchecked Sendable {
    let path = "<fuzz input>"
    let storage: UnsafeMutableRawBufferPointer
    var size: UInt64 { UInt64(storage.count) }

    init(_ input: UnsafeRawBufferPointer) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: input.count, alignment: 16)
        if let base = input.baseAddress, input.count > 0 { storage.baseAddress!.copyMemory(from: base, byteCount: input.count) }
    }

    deinit { storage.deallocate() }

    func stablePointer(at offset: UInt64, count: Int) -> UnsafeRawPointer? {
        guard count >= 0, contains(offset: offset, count: UInt64(count)), let base = storage.baseAddress else { return nil }
        return UnsafeRawPointer(base + Int(offset))
    }

    func copy(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard contains(offset: offset, count: UInt64(buffer.count)) else { return false }
        guard let out = buffer.baseAddress, buffer.count > 0, let base = storage.baseAddress else { return true }
        out.copyMemory(from: base + Int(offset), byteCount: buffer.count)
        return true
    }
}

/// A fuzz input as physical memory starting at address 0, for the readers that take a
/// `KernelMemory` (kallsyms): the image mapping puts kernel VA `startKernelMap` at 0.
final class MemoryPhysical: PhysicalMemory, @unchecked Sendable {
    let path = "<fuzz input>"
    let formatName = "memory"
    let vmcoreinfo: String? = nil
    let architecture = Architecture.x86_64
    let bytes: MemoryBytes
    var ranges: [PhysicalRange] { [PhysicalRange(start: 0, end: bytes.size)] }

    init(_ input: UnsafeRawBufferPointer) { bytes = MemoryBytes(input) }

    func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard try bytes.copy(at: address, into: buffer) else { throw MemoryFault.notInDump(physical: address) }
    }

    func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? {
        bytes.stablePointer(at: address, count: count)
    }

    func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? {
        guard address < bytes.size, let p = bytes.stablePointer(at: address, count: 0) else { return nil }
        return (p, bytes.size - address)
    }

    /// Kernel memory whose image mapping covers the whole input; other addresses fault.
    var kernelMemory: KernelMemory {
        let start = X86_64Translation.startKernelMap
        let translation = X86_64Translation(
            imageStart: start, imageEnd: start &+ max(bytes.size, 1), physBase: 0,
            pageOffsetBase: 0xffff_8880_0000_0000, directMapSize: bytes.size,
            rootTable: 1 << 46, fiveLevel: false)     // page tables outside the dump: walks fault
        return KernelMemory(physical: self, translation: .x86_64(translation))
    }
}

/// A fuzz input as a file for readers that map a file (the .xz reader): an anonymous memory
/// file, so that no input touches the disk.
enum MemoryFile {
    static func map(_ input: UnsafeRawBufferPointer) throws -> MappedFile {
        let fd = anonymousFile()
        guard fd >= 0 else { throw InputError(file: "<fuzz input>", reason: "cannot make a memory file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < input.count {
            let n = write(fd, input.baseAddress! + written, input.count - written)
            guard n > 0 else { throw InputError(file: "<fuzz input>", reason: "write to memfd failed") }
            written += n
        }
        return try MappedFile(path: "/proc/self/fd/\(fd)")
    }

    /// A new, already unlinked, POSIX shared-memory file (memfd_create is not visible to Swift).
    static func anonymousFile() -> Int32 {
        counter += 1
        let name = "/vmowner-fuzz-\(getpid())-\(counter)"
        let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        if fd >= 0 { shm_unlink(name) }
        return fd
    }

    nonisolated(unsafe) private static var counter = 0
}

/// Reads a dump's memory the ways the walkers do: the start and end of every range, whole
/// pages, spans across page and range ends, and the pointers straight into the file.
enum PhysicalExercise {
    static func run(_ memory: PhysicalMemory, maxRanges: Int = 16, pagesPerRange: Int = 8) {
        FuzzLog.note("\(memory.formatName): \(memory.ranges.count) ranges, VMCOREINFO \(memory.vmcoreinfo?.utf8.count ?? 0) bytes")
        var faults = 0, reads = 0
        defer { FuzzLog.note("\(reads) reads, \(faults) faults") }
        var page = [UInt8](repeating: 0, count: 4096 + 64)
        page.withUnsafeMutableBytes { buffer in
            for r in memory.ranges.prefix(maxRanges) {
                var at = r.start
                for _ in 0..<pagesPerRange where at < r.end {
                    do { try memory.read(physical: at, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<4096])); reads += 1 } catch {
                        if faults == 0 { FuzzLog.note("first fault: \(error)") }
                        faults += 1
                    }
                    try? memory.read(physical: at &+ 4000, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<200]))
                    touch(memory.directSpan(physical: at))
                    if let p = memory.directPointer(physical: at, count: 4096) { touch((p, 4096)) }
                    at &+= 4096
                }
                try? memory.read(physical: r.end &- 8, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<16]))
                try? memory.read(physical: r.end &- 1, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<1]))
            }
        }
    }

    /// Reads the first and last byte of a span handed out, so that ASan checks its bounds.
    static func touch(_ span: (pointer: UnsafeRawPointer, count: UInt64)?) {
        guard let (p, count) = span, count > 0 else { return }
        let last = Int(min(count, 1 << 30)) - 1
        sink &+= p.load(as: UInt8.self) &+ (p + last).load(as: UInt8.self)
    }

    nonisolated(unsafe) static var sink: UInt8 = 0
}
