import ELFCore
#if canImport(Glibc)
import Glibc
#endif

/// The seed dump (a small vmsim machine, ELF, from $VMOWNER_FUZZ_DUMP) opened once, its
/// vmcore held in an anonymous shared-memory file so that fuzz inputs can patch it in place: the
/// reader maps that memory file like any vmcore, and sees a patch written through a second,
/// writable mapping at once. After each input the patched bytes are put back.
final class SeedDump {
    let dump: KernelDump
    private let size: Int
    /// Our writable view of the memory file.
    private let writable: UnsafeMutableRawPointer
    /// The reader's own read-only mapping of it (watched to learn which pages a target reads).
    private let readerMapping: UnsafeMutableRawPointer

    nonisolated(unsafe) static var shared: SeedDump = {
        do { return try SeedDump() } catch {
            fputs("vmowner-fuzz: cannot open the seed dump: \(error)\n", stderr)
            exit(2)
        }
    }()

    static var directory: String {
        getenv("VMOWNER_FUZZ_DUMP").map { String(cString: $0) } ?? ".build-fuzz/seed-dump"
    }

    private init() throws {
        let dir = Self.directory
        let source = try MappedFile(path: "\(dir)/vmcore")
        size = Int(source.size)
        let fd = MemoryFile.anonymousFile()
        guard fd >= 0, ftruncate(fd, off_t(size)) == 0,
              let map = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), map != MAP_FAILED,
              let from = source.pointer(at: 0, count: source.size) else {
            throw InputError(file: "\(dir)/vmcore", reason: "cannot copy it into memory: \(String(cString: strerror(errno)))")
        }
        writable = map
        writable.copyMemory(from: from, byteCount: size)
        // The descriptor stays open for the life of the process: the reader maps it by path.
        dump = try KernelDump(vmlinuxPath: "\(dir)/vmlinux", vmcorePath: "/proc/self/fd/\(fd)")
        guard let elf = dump.physical as? ELFCoreDump, let mapped = elf.bytes as? MappedBytes,
              let reader = mapped.file.pointer(at: 0, count: mapped.file.size) else {
            throw InputError(file: "\(dir)/vmcore", reason: "the seed dump must be an ELF vmcore")
        }
        readerMapping = UnsafeMutableRawPointer(mutating: reader)
        try shortenPFNRange(to: Self.walkedPFNs)
    }

    /// The page walks scan [min_low_pfn, max_pfn): a smaller max_pfn makes every execution
    /// that much faster (the 64M machine has 16384 pfns), and the kernel data they read is
    /// the same kind. Written once into the copy, before any target's clean run.
    static let walkedPFNs: UInt64 = 2048

    private func shortenPFNRange(to pfns: UInt64) throws {
        let at = try dump.memory.physicalAddress(of: try dump.requireAddress(of: "max_pfn"))
        guard let p = dump.physical.directPointer(physical: at, count: 8) else { return }
        let offset = UnsafeRawPointer(p) - UnsafeRawPointer(readerMapping)
        let old = p.loadUnaligned(as: UInt64.self)
        if old > pfns { (writable + offset).storeBytes(of: pfns.littleEndian, as: UInt64.self) }
    }

    /// The pages of the vmcore that `body` reads, in file order: a patch aimed anywhere else
    /// would change nothing. Found by unmapping the reader's view and noting each page the
    /// reader faults on (then mapping that page back).
    func pagesRead(by body: () -> Void) -> [Int] {
        let pages = (size + 4095) / 4096
        let seen = UnsafeMutablePointer<UInt8>.allocate(capacity: pages)
        seen.initialize(repeating: 0, count: pages)
        defer { seen.deallocate() }
        PageFaultLog.start(base: readerMapping, length: pages * 4096, seen: seen)
        body()
        PageFaultLog.stop(base: readerMapping, length: pages * 4096)
        return (0..<pages).filter { seen[$0] != 0 }
    }

    /// Runs `body` on the dump with the patches of `input` (see `Patch`) applied to `pages`,
    /// then puts the original bytes back.
    func withPatches(_ input: UnsafeRawBufferPointer, pages: [Int], _ body: () -> Void) {
        let patches = Patch.parse(input, pages: pages, fileSize: size)
        var saved: [(offset: Int, bytes: [UInt8])] = []
        for p in patches {
            saved.append((p.offset, Array(UnsafeRawBufferPointer(start: writable + p.offset, count: p.bytes.count))))
            p.bytes.withUnsafeBytes { (writable + p.offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        body()
        for s in saved.reversed() {
            s.bytes.withUnsafeBytes { (writable + s.offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
    }
}

/// One change to the vmcore. Input: records of a control byte and a little-endian u32
/// position, then for a literal the bytes themselves (control bit 7 clear: 1–64 bytes), or
/// nothing for an edge value (bit 7 set: value `control & 15` of `edgeValues`, 1, 2, 4 or 8
/// bytes wide by bits 4–5). The position picks a page of the target's list (bits 12 and up,
/// modulo its length) and the byte in it (bits 0–11).
struct Patch {
    let offset: Int
    let bytes: [UInt8]

    static let maxPatches = 64
    static let edgeValues: [UInt64] = [
        0, 1, 2, 0x7f, 0x80, 0xff, 0xfff, 0x1000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32,
        0x7fff_ffff_ffff_ffff, 1 << 63, .max, 0xffff_8880_0000_0000,
    ]

    static func parse(_ input: UnsafeRawBufferPointer, pages: [Int], fileSize: Int) -> [Patch] {
        guard !pages.isEmpty else { return [] }
        var out: [Patch] = []
        var at = 0
        while at + 5 <= input.count, out.count < maxPatches {
            let control = input[at]
            let position = Int(input.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self).littleEndian)
            at += 5
            var bytes: [UInt8]
            if control & 0x80 != 0 {
                let width = 1 << Int((control >> 4) & 3)
                bytes = withUnsafeBytes(of: edgeValues[Int(control & 15)].littleEndian) { Array($0.prefix(width)) }
            } else {
                let length = min(Int(control & 0x3f) + 1, input.count - at)
                bytes = Array(UnsafeRawBufferPointer(rebasing: input[at..<(at + length)]))
                at += length
            }
            let offset = pages[(position >> 12) % pages.count] * 4096 + (position & 4095)
            let room = fileSize - offset
            guard room > 0 else { continue }
            if bytes.count > room { bytes = Array(bytes.prefix(room)) }
            out.append(Patch(offset: offset, bytes: bytes))
        }
        return out
    }
}

/// SIGSEGV bookkeeping for `SeedDump.pagesRead`: while it runs, the watched mapping is
/// PROT_NONE; a fault inside it marks the page and makes it readable again, any other fault
/// goes to the handler that was there before (a real crash stays a crash).
enum PageFaultLog {
    nonisolated(unsafe) static var base: UInt = 0
    nonisolated(unsafe) static var length: UInt = 0
    nonisolated(unsafe) static var seen: UnsafeMutablePointer<UInt8>?
    nonisolated(unsafe) static var previous = sigaction()

    static func start(base pointer: UnsafeMutableRawPointer, length bytes: Int, seen marks: UnsafeMutablePointer<UInt8>) {
        base = UInt(bitPattern: pointer)
        length = UInt(bytes)
        seen = marks
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { _, info, _ in PageFaultLog.fault(info) }
        action.sa_flags = SA_SIGINFO | Int32(SA_NODEFER)
        sigemptyset(&action.sa_mask)
        sigaction(SIGSEGV, &action, &previous)
        mprotect(pointer, bytes, PROT_NONE)
    }

    static func stop(base pointer: UnsafeMutableRawPointer, length bytes: Int) {
        mprotect(pointer, bytes, PROT_READ)
        sigaction(SIGSEGV, &previous, nil)
        seen = nil
    }

    static func fault(_ info: UnsafeMutablePointer<siginfo_t>?) {
        let address = UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr)
        if let seen, address >= base, address - base < length {
            let page = (address - base) / 4096
            seen[Int(page)] = 1
            mprotect(UnsafeMutableRawPointer(bitPattern: base + page * 4096), 4096, PROT_READ)
            return
        }
        sigaction(SIGSEGV, &previous, nil)      // not ours: the faulting access repeats and crashes
    }
}
