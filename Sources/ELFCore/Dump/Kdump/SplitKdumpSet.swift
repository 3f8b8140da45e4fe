import Foundation

/// The files of one `makedumpfile --split` dump read as one dump. Each part is a whole
/// kdump-compressed file (same headers, same bitmaps over all pfns) that stores the pages of
/// one pfn range only, [start_pfn, end_pfn) in its kdump_sub_header (header version 2+; the
/// _64 fields from version 6). makedumpfile records no part number or part count: a set is
/// complete when its ranges, sorted, tile [0, max_mapnr) without a gap or an overlap.
/// Reads go to the part whose range holds the pfn.
public final class SplitKdumpSet: PhysicalMemory, @unchecked Sendable {
    /// The parts, in pfn order (whatever order they were given in).
    public let parts: [KdumpCompressedDump]
    public let formatName: String
    private let pageShift: UInt64
    /// The parts that hold pages (not the empty ranges), and where each one's range ends.
    private let holders: [KdumpCompressedDump]
    private let ends: [UInt64]

    /// The pfns each part holds, [start_pfn, end_pfn), in the order of `parts`.
    public var partRanges: [Range<UInt64>] { parts.map { $0.header.startPFN..<$0.header.endPFN } }

    public var path: String { parts[0].path }
    public var vmcoreinfo: String? { parts[0].vmcoreinfo }
    public var architecture: Architecture { parts[0].architecture }
    public var ranges: [PhysicalRange] { parts[0].ranges }

    /// A set from its parts, in any order. Refuses parts of other dumps, overlaps, gaps
    /// (naming the missing pfn range and the parts around it), and files that are not parts.
    public init(parts given: [KdumpCompressedDump]) throws {
        guard let first = given.first else { throw InputError(file: "", reason: "a split dump needs at least one part") }
        for part in given {
            guard part.header.split else {
                throw InputError(file: part.path, reason: "not a part of a split dump (makedumpfile --split), yet given with other dump files: give one dump, or every part of one split dump")
            }
            try Self.requireSameDump(part, as: first)
        }
        let sorted = given.sorted { ($0.header.startPFN, $0.header.endPFN) < ($1.header.startPFN, $1.header.endPFN) }
        try Self.requireTiling(sorted)
        parts = sorted
        holders = sorted.filter { $0.header.endPFN > $0.header.startPFN }
        ends = holders.map(\.header.endPFN)
        guard !holders.isEmpty else { throw InputError(file: first.path, reason: "no part of the split dump holds a page") }
        pageShift = UInt64(first.header.blockSize.trailingZeroBitCount)
        let own = "split: pfns \(first.header.startPFN)-\(first.header.endPFN)"
        formatName = first.formatName.replacingOccurrences(of: own, with: "split in \(sorted.count) files")
    }

    /// Same dump: the disk_dump_header up to max_mapnr (signature, version, utsname,
    /// timestamp, status, block size, header and bitmap sizes), phys_base, dump level,
    /// max_mapnr_64, the VMCOREINFO text (with its CRASHTIME) and the 1st bitmap (the RAM map).
    /// Parts differ only in their pfn range and page data.
    static func requireSameDump(_ part: KdumpCompressedDump, as first: KdumpCompressedDump) throws {
        guard part !== first else { return }
        func differ(_ what: String) -> InputError {
            InputError(file: part.path, reason: "not a part of the same dump as \(first.path): its \(what) differs (a part of another dump?)")
        }
        let a = try first.bytes.bytes(at: 0, count: 444, what: "disk_dump_header")
        let b = try part.bytes.bytes(at: 0, count: 444, what: "disk_dump_header")
        if a[12..<402] != b[12..<402] { throw differ("utsname") }
        if a[408..<424] != b[408..<424] { throw differ("dump timestamp") }
        if a != b { throw differ("disk_dump_header") }
        let (h, g) = (first.header, part.header)
        if h.physBase != g.physBase || h.dumpLevel != g.dumpLevel || h.maxMapnr != g.maxMapnr { throw differ("kdump_sub_header (phys_base, dump level or max_mapnr)") }
        if first.vmcoreinfo != part.vmcoreinfo { throw differ("VMCOREINFO (crash time, release or layout)") }
        if try !sameBytes(first.bytes, part.bytes, at: h.bitmapOffset, count: min(h.bitmapHalfBytes, (h.maxMapnr / 64 &+ 1) &* 8)) {
            throw differ("1st bitmap (the machine's RAM map)")
        }
    }

    /// The ranges, sorted, must cover [0, max_mapnr) once. Empty ranges (makedumpfile gives
    /// the last parts nothing when one splitblock holds every page) cover nothing and are fine.
    static func requireTiling(_ sorted: [KdumpCompressedDump]) throws {
        let limit = sorted[0].header.maxMapnr
        var covered: UInt64 = 0
        var previous: KdumpCompressedDump?
        for part in sorted {
            let (start, end) = (part.header.startPFN, part.header.endPFN)
            if end > limit {
                throw InputError(file: part.path, reason: "corrupt kdump_sub_header: split range \(start)-\(end) ends past max_mapnr \(limit)")
            }
            if end == start { continue }
            if start < covered, let previous {
                let why = previous.path == part.path ? "it is given twice" : "both hold pfns \(start)-\(min(end, covered))"
                throw InputError(file: part.path, reason: "overlaps \(previous.path) in the split set: \(why)")
            }
            if start > covered { throw missing(covered, start, before: previous, after: part, count: sorted.count) }
            covered = end
            previous = part
        }
        if covered < limit { throw missing(covered, limit, before: previous, after: nil, count: sorted.count) }
    }

    private static func missing(_ from: UInt64, _ to: UInt64, before: KdumpCompressedDump?, after: KdumpCompressedDump?, count: Int) -> InputError {
        let place: String
        switch (before, after) {
        case let (b?, a?): place = "between \(b.path) and \(a.path)"
        case let (b?, nil): place = "after \(b.path)"
        case let (nil, a?): place = "before \(a.path)"
        case (nil, nil): place = "anywhere"
        }
        let file = (before ?? after)?.path ?? ""
        return InputError(file: file, reason: "split dump incomplete: no part holds pfns \(from)-\(to) (physical 0x\(String(from << 12, radix: 16))-0x\(String(to << 12, radix: 16))); the part \(place) is missing from the \(count) given: name every part")
    }

    /// True when `count` bytes at `offset` are equal in both files, compared 1 MiB at a time.
    private static func sameBytes(_ x: DumpBytes, _ y: DumpBytes, at offset: UInt64, count: UInt64) throws -> Bool {
        var done: UInt64 = 0
        while done < count {
            let n = Int(min(count - done, 1 << 20))
            let at = offset &+ done
            if try x.bytes(at: at, count: n, what: "1st bitmap") != y.bytes(at: at, count: n, what: "1st bitmap") { return false }
            done += UInt64(n)
        }
        return true
    }

    /// The part whose range holds `pfn`; the tiling makes it the first whose end lies past it.
    private func part(holding pfn: UInt64) -> KdumpCompressedDump {
        var low = 0, high = ends.count - 1
        while low < high {
            let mid = (low + high) / 2
            if ends[mid] > pfn { high = mid } else { low = mid + 1 }
        }
        return holders[low]
    }

    public func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard let base = buffer.baseAddress else { return }
        let pageSize = 1 << Int(pageShift)
        var done = 0
        while done < buffer.count {
            let at = address &+ UInt64(done)
            let n = min(buffer.count - done, pageSize - Int(at & UInt64(pageSize - 1)))
            try part(holding: at >> pageShift).read(physical: at, into: UnsafeMutableRawBufferPointer(start: base + done, count: n))
            done += n
        }
    }

    public func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? {
        part(holding: address >> pageShift).directSpan(physical: address)
    }

    public func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? {
        part(holding: address >> pageShift).directPointer(physical: address, count: count)
    }
}
