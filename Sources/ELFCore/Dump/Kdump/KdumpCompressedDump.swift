/// A kdump-compressed dump (makedumpfile's default output, QEMU's kdump-* formats): headers,
/// two pfn bitmaps, one descriptor per dumped page, pages compressed one by one. Works on any
/// `DumpBytes`, so the same reader serves plain files, flattened streams and .xz files.
///
/// A pfn missing from the 1st bitmap is a hole (`notInDump`); one missing from the 2nd was
/// filtered out by the dump level (`excluded`): never read as zeros.
public final class KdumpCompressedDump: PhysicalMemory, @unchecked Sendable {
    public let bytes: DumpBytes
    public var path: String { bytes.path }
    public let formatName: String
    public let architecture: Architecture
    public let vmcoreinfo: String?
    public let ranges: [PhysicalRange]
    /// makedumpfile's -d level the dump was written with (0 for QEMU dumps).
    public let dumpLevel: Int32
    /// The `phys_base` the kernel ran with, from the sub header.
    public let physBase: UInt64

    let header: KdumpHeader
    private let present: PFNBitmap
    private let dumped: PFNBitmap
    private let pfnLimit: UInt64
    private let pageSize: Int
    private let pageShift: UInt64
    private let firstRank: UInt64
    let cache: PageCache

    static let descriptorSize: UInt64 = 24
    static let methodFlags = KdumpHeader.zlib | KdumpHeader.lzo | KdumpHeader.snappy | KdumpHeader.zstd
    /// 16 MiB of decompressed 4 KiB pages: a walk touches memmap and page_ext in order, so the
    /// working set is small; the depot's pools come and go.
    public static let cachedPages = 4096
    /// The cache's bound in bytes, whatever block_size the header claims (up to 1 MiB: 4096
    /// such blocks would be 4 GiB).
    static let cacheBytes = 16 << 20

    /// `containers` names how the file is wrapped ("flattened", "xz"), for `formatName`.
    /// `cachedPages` bounds the decompressed-page cache (which never exceeds `cacheBytes`).
    public init(bytes: DumpBytes, containers: [String] = [], cachedPages: Int = KdumpCompressedDump.cachedPages) throws {
        self.bytes = bytes
        let header = try KdumpHeader(bytes: bytes)
        self.header = header
        let path = bytes.path
        let vmcoreinfo = try Self.readVMCoreInfo(header: header, bytes: bytes)
        guard let architecture = Architecture(utsMachine: header.machine) ?? Self.unnamedMachine(header: header, vmcoreinfo: vmcoreinfo) else {
            throw InputError(file: path, reason: "unsupported architecture (utsname machine \"\(header.machine.prefix(65))\" in the kdump header); vmowner reads \(Architecture.supportedNames) dumps")
        }
        self.architecture = architecture
        self.vmcoreinfo = vmcoreinfo
        pageSize = Int(header.blockSize)
        pageShift = UInt64(header.blockSize.trailingZeroBitCount)
        dumpLevel = header.dumpLevel
        physBase = header.physBase

        // Each bitmap fills its half of the bitmap blocks, but only the bits of pfns below
        // max_mapnr mean anything: a header claiming huge bitmaps costs no more than that.
        let half = header.bitmapHalfBytes
        let used = min(half, (header.maxMapnr / 64 &+ 1) &* 8)
        present = try PFNBitmap(bytes: bytes, offset: header.bitmapOffset, byteCount: used, what: "1st bitmap")
        dumped = try PFNBitmap(bytes: bytes, offset: header.bitmapOffset &+ half, byteCount: used, what: "2nd bitmap")
        dumped.buildRanks()
        pfnLimit = min(header.maxMapnr, present.pfnCount)
        guard header.startPFN <= header.endPFN else {
            throw InputError(file: path, reason: "corrupt kdump_sub_header: split range start_pfn \(header.startPFN) > end_pfn \(header.endPFN)")
        }
        firstRank = dumped.rank(header.startPFN)
        guard bytes.contains(offset: header.descriptorsOffset, count: 0) else {
            throw InputError(file: path, reason: "truncated: the page descriptors would start at offset \(header.descriptorsOffset), past the end of the file (\(bytes.size) bytes)")
        }
        cache = PageCache(pageSize: pageSize, capacity: min(cachedPages, Self.cacheBytes / pageSize))
        ranges = present.runs(below: pfnLimit).map {
            PhysicalRange(start: $0.start << UInt64(header.blockSize.trailingZeroBitCount), end: $0.end << UInt64(header.blockSize.trailingZeroBitCount))
        }

        var qualifiers: [String] = []
        if let method = header.compressionName ?? Self.sampledCompression(header: header, bytes: bytes) { qualifiers.append(method) }
        if header.status & KdumpHeader.incomplete != 0 { qualifiers.append("incomplete") }
        if header.status & KdumpHeader.excludedVmemmap != 0 { qualifiers.append("vmemmap excluded") }
        if header.split { qualifiers.append("split: pfns \(header.startPFN)-\(header.endPFN)") }
        if let flat = bytes as? FlattenedBytes, flat.truncated { qualifiers.append("truncated") }
        let innerContainers = containers.filter { $0 != "flattened" }
        qualifiers += innerContainers
        let name = containers.contains("flattened") ? "flattened kdump" : "kdump-compressed"
        formatName = qualifiers.isEmpty ? name : "\(name) (\(qualifiers.joined(separator: ", ")))"
        if ranges.isEmpty { throw InputError(file: path, reason: "the 1st bitmap marks no pfn as memory: this dump holds no memory") }
    }

    /// The methods the first descriptors use, for headers whose status names none
    /// (makedumpfile without -c/-l/-p/-z writes every page raw).
    private static func sampledCompression(header: KdumpHeader, bytes: DumpBytes) -> String? {
        var names = Set<String>()
        var index: UInt64 = 0
        while index < 64 {
            let at = header.descriptorsOffset &+ index &* Self.descriptorSize
            guard let raw = try? bytes.bytes(at: at, count: 24, what: "page descriptor") else { break }
            if let name = KdumpHeader.compressionName(flags: raw.le(UInt32.self, 12)) { names.insert(name) }
            index += 1
        }
        return names.isEmpty ? (index > 0 ? "uncompressed" : nil) : names.sorted().joined(separator: "+")
    }

    /// QEMU (7.2 at least) writes "Unknown" as the machine of targets it has no uname for,
    /// arm64 among them. The kernel's VMCOREINFO then tells: arm64 writes
    /// NUMBER(kimage_voffset), x86_64 NUMBER(phys_base) (arch/*/kernel/vmcore_info*.c in 6.9+,
    /// crash_core*.c or machine_kexec*.c before), and neither writes the other's.
    private static func unnamedMachine(header: KdumpHeader, vmcoreinfo: String?) -> Architecture? {
        guard header.machine == "Unknown", let lines = vmcoreinfo?.split(separator: "\n") else { return nil }
        let arm64 = lines.contains { $0.hasPrefix("NUMBER(kimage_voffset)=") }
        let x86 = lines.contains { $0.hasPrefix("NUMBER(phys_base)=") }
        return arm64 == x86 ? nil : arm64 ? .arm64 : .x86_64
    }

    /// VMCOREINFO from the sub header (version 3+), else from the ELF notes copy (version 4+).
    private static func readVMCoreInfo(header: KdumpHeader, bytes: DumpBytes) throws -> String? {
        let limit: UInt64 = 1 << 20
        if header.vmcoreinfo.size > 0, header.vmcoreinfo.size <= limit,
           bytes.contains(offset: header.vmcoreinfo.offset, count: header.vmcoreinfo.size) {
            let text = try bytes.bytes(at: header.vmcoreinfo.offset, count: Int(header.vmcoreinfo.size), what: "VMCOREINFO")
            return String(decoding: text.prefix { $0 != 0 }, as: UTF8.self)
        }
        if header.notes.size > 0, header.notes.size <= limit, bytes.contains(offset: header.notes.offset, count: header.notes.size) {
            let notes = try bytes.bytes(at: header.notes.offset, count: Int(header.notes.size), what: "ELF notes")
            return ELFNotes.find(name: "VMCOREINFO", in: notes).map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return nil
    }

    // MARK: Pages

    struct Descriptor {
        let offset: UInt64
        let size: UInt64
        let flags: UInt32
    }

    /// Where page `pfn` is stored, or the fault that says why it cannot be read.
    private func descriptor(pfn: UInt64, address: UInt64) throws -> Descriptor {
        guard pfn < pfnLimit, present.isSet(pfn) else { throw MemoryFault.notInDump(physical: address) }
        guard dumped.isSet(pfn), pfn >= header.startPFN, pfn < header.endPFN else { throw MemoryFault.excluded(physical: address) }
        let index = dumped.rank(pfn) &- firstRank
        let at = header.descriptorsOffset &+ index &* Self.descriptorSize
        var raw = (UInt64(0), UInt64(0), UInt64(0))
        let complete = try withUnsafeMutableBytes(of: &raw) { buffer -> Bool in
            if let p = bytes.stablePointer(at: at, count: 24) {
                buffer.copyMemory(from: UnsafeRawBufferPointer(start: p, count: 24))
                return true
            }
            return try bytes.copy(at: at, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<24]))
        }
        let incomplete = header.status & KdumpHeader.incomplete != 0
        guard complete else {
            if incomplete { throw MemoryFault.excluded(physical: address) }
            throw MemoryFault.corrupt(physical: address, reason: "its page descriptor (offset \(at)) lies past the end of the file")
        }
        let d = Descriptor(offset: UInt64(littleEndian: raw.0),
                           size: UInt64(UInt32(truncatingIfNeeded: UInt64(littleEndian: raw.1))),
                           flags: UInt32(truncatingIfNeeded: UInt64(littleEndian: raw.1) >> 32))
        // An incomplete dump leaves descriptors it never filled at zero.
        if d.offset == 0 || d.size == 0 {
            if incomplete { throw MemoryFault.excluded(physical: address) }
            throw MemoryFault.corrupt(physical: address, reason: "empty page descriptor (offset \(d.offset), size \(d.size))")
        }
        guard d.size <= UInt64(pageSize) * 2 else {
            throw MemoryFault.corrupt(physical: address, reason: "page descriptor claims \(d.size) bytes for a \(pageSize)-byte page")
        }
        guard bytes.contains(offset: d.offset, count: d.size) else {
            if incomplete { throw MemoryFault.excluded(physical: address) }
            throw MemoryFault.corrupt(physical: address, reason: "its data (\(d.size) bytes at offset \(d.offset)) lies past the end of the file (\(bytes.size) bytes): truncated?")
        }
        if d.flags & Self.methodFlags == 0, d.size != UInt64(pageSize) {
            throw MemoryFault.corrupt(physical: address, reason: "uncompressed page stored in \(d.size) bytes, not \(pageSize)")
        }
        return d
    }

    /// Copies `count` bytes at `within` of page `pfn` to `out`. A container that fails under
    /// the page (a damaged .xz block) is a fault of that page, not of the whole dump.
    private func copy(pfn: UInt64, address: UInt64, within: Int, count: Int, to out: UnsafeMutableRawPointer) throws {
        do {
            try uncheckedCopy(pfn: pfn, address: address, within: within, count: count, to: out)
        } catch let error as InputError {
            throw MemoryFault.corrupt(physical: address, reason: error.reason)
        }
    }

    private func uncheckedCopy(pfn: UInt64, address: UInt64, within: Int, count: Int, to out: UnsafeMutableRawPointer) throws {
        // A whole page is what a sequential walk asks for: it goes straight to the caller,
        // past the cache, which is for the small scattered reads of pointers and records.
        let wholePage = within == 0 && count == pageSize
        if !wholePage, cache.copy(pfn: pfn, within: within, count: count, to: out) { return }
        let d = try descriptor(pfn: pfn, address: address)
        if d.flags & Self.methodFlags == 0 {
            if let p = bytes.stablePointer(at: d.offset &+ UInt64(within), count: count) {
                out.copyMemory(from: p, byteCount: count)
            } else if try !bytes.copy(at: d.offset &+ UInt64(within), into: UnsafeMutableRawBufferPointer(start: out, count: count)) {
                throw MemoryFault.corrupt(physical: address, reason: "page data past the end of the file")
            }
            return
        }
        let page = wholePage ? out : UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { if !wholePage { page.deallocate() } }
        do {
            try withCompressedBytes(d) { source in
                try PageDecompressor.decompress(flags: d.flags, source: source, into: UnsafeMutableRawBufferPointer(start: page, count: pageSize))
            }
        } catch let failure as PageDecompressor.Failure {
            switch failure {
            case .unknownMethod(let flags):
                throw MemoryFault.corrupt(physical: address, reason: "unknown compression flags 0x\(String(flags, radix: 16))")
            case .failed(let why):
                throw MemoryFault.corrupt(physical: address, reason: "\(d.size) bytes at offset \(d.offset) do not decompress (\(why))")
            }
        }
        if wholePage { return }
        cache.insert(pfn: pfn, page: page)
        out.copyMemory(from: page + within, byteCount: count)
    }

    private func withCompressedBytes(_ d: Descriptor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let p = bytes.stablePointer(at: d.offset, count: Int(d.size)) {
            try body(UnsafeRawBufferPointer(start: p, count: Int(d.size)))
            return
        }
        var copy = [UInt8](repeating: 0, count: Int(d.size))
        guard try copy.withUnsafeMutableBytes({ try bytes.copy(at: d.offset, into: $0) }) else {
            throw PageDecompressor.Failure.failed("data past the end of the file")
        }
        try copy.withUnsafeBytes { try body($0) }
    }

    public func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let at = address &+ UInt64(done)
            let within = Int(at & UInt64(pageSize - 1))
            let n = min(buffer.count - done, pageSize - within)
            try copy(pfn: at >> pageShift, address: at, within: within, count: n, to: base + done)
            done += n
        }
    }

    /// Pages stored raw (incompressible ones and the shared zero page) are plain in the file.
    public func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? {
        guard let d = try? descriptor(pfn: address >> pageShift, address: address),
              d.flags & Self.methodFlags == 0 else { return nil }
        let within = Int(address & UInt64(pageSize - 1))
        guard let p = bytes.stablePointer(at: d.offset &+ UInt64(within), count: pageSize - within) else { return nil }
        return (p, UInt64(pageSize - within))
    }

    public func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? {
        guard let span = directSpan(physical: address), count >= 0, UInt64(count) <= span.count else { return nil }
        return span.pointer
    }
}
