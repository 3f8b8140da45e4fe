/// The simulated RAM. Small kernel structures live in a sparse page store; the big per-pfn
/// arrays (struct page, page_ext) are "bulk regions" generated in chunks while the vmcore is
/// written, so that 64 GiB machines never hold them in memory.
final class PhysicalMemory {
    struct BulkRegion {
        let physical: UInt64
        let length: UInt64
        /// Fills `buffer` (zeroed, `length` bytes) with the region's bytes.
        let fill: (UnsafeMutableRawBufferPointer) -> Void
    }

    private(set) var pages: [UInt64: [UInt8]] = [:]
    private(set) var bulk: [BulkRegion] = []

    func addBulk(_ region: BulkRegion) { bulk.append(region) }

    func write(physical: UInt64, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let pa = physical + UInt64(done)
            let pfn = pa >> 12, off = Int(pa & 0xfff)
            let n = min(4096 - off, bytes.count - done)
            var page = pages[pfn] ?? [UInt8](repeating: 0, count: 4096)
            page.replaceSubrange(off..<(off + n), with: bytes[done..<(done + n)])
            pages[pfn] = page
            done += n
        }
    }

    func writeU64(physical: UInt64, _ v: UInt64) { write(physical: physical, le(v, 8)) }

    func readU64(physical: UInt64) -> UInt64 {
        guard let page = pages[physical >> 12] else { return 0 }
        let off = Int(physical & 0xfff)
        var v: UInt64 = 0
        for i in 0..<8 where off + i < 4096 { v |= UInt64(page[off + i]) << (8 * UInt64(i)) }
        return v
    }
}

/// Little-endian bytes of an integer.
func le(_ v: UInt64, _ n: Int) -> [UInt8] {
    return (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
}

/// Kernel virtual addresses of the simulated boot and how they reach physical memory.
final class KernelMemory {
    let layout: MachineLayout
    let phys: PhysicalMemory
    let imageStart: UInt64   // runtime VA of _text
    let imageEnd: UInt64     // runtime VA of _end
    /// 4 KiB mappings outside the direct map and the image (vmalloc, modules): VA page -> PA page.
    private(set) var smallMappings: [UInt64: UInt64] = [:]

    init(layout: MachineLayout, phys: PhysicalMemory, imageStart: UInt64, imageEnd: UInt64) {
        self.layout = layout
        self.phys = phys
        self.imageStart = imageStart
        self.imageEnd = imageEnd
    }

    func directMap(_ pa: UInt64) -> UInt64 { layout.pageOffsetBase &+ pa }

    private let pageMask = MachineLayout.pageSize - 1

    func map(virtualPage va: UInt64, toPhysical pa: UInt64) { smallMappings[va & ~pageMask] = pa & ~pageMask }

    func physical(of va: UInt64) -> UInt64? {
        if va >= imageStart && va < imageEnd { return va &- layout.kimageVoffset }
        if va >= layout.pageOffsetBase && va < layout.pageOffsetBase &+ layout.endPhys { return va &- layout.pageOffsetBase }
        if let p = smallMappings[va & ~pageMask] { return p | (va & pageMask) }
        return nil
    }

    func write(_ va: UInt64, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let a = va &+ UInt64(done)
            let n = min(Int(pageMask + 1) - Int(a & pageMask), bytes.count - done)
            guard let pa = physical(of: a) else {
                fatalError("vmsim internal error: write to unmapped kernel address 0x\(String(a, radix: 16))")
            }
            phys.write(physical: pa, Array(bytes[done..<(done + n)]))
            done += n
        }
    }

    func writeU64(_ va: UInt64, _ v: UInt64) { write(va, le(v, 8)) }
    func writeU32(_ va: UInt64, _ v: UInt32) { write(va, le(UInt64(v), 4)) }
    func writeU16(_ va: UInt64, _ v: UInt16) { write(va, le(UInt64(v), 2)) }
    func writeU8(_ va: UInt64, _ v: UInt8) { write(va, [v]) }
    func writeString(_ va: UInt64, _ s: String) { write(va, Array(s.utf8) + [0]) }
}

/// Boot-time allocator: memblock hands out memory top-down from the end of RAM; every range it
/// gives is a reserved range for struct page purposes.
final class Memblock {
    private var ranges: [(start: UInt64, end: UInt64)]
    private(set) var reserved: [(start: UInt64, end: UInt64)] = []

    init(layout: MachineLayout) { ranges = layout.ram }

    /// Marks [start, end) reserved without allocating (low memory, the kernel image).
    func reserve(_ start: UInt64, _ end: UInt64) {
        reserved.append((start, end))
        var cut: [(start: UInt64, end: UInt64)] = []
        for r in ranges {
            if end <= r.start || start >= r.end { cut.append(r); continue }
            if start > r.start { cut.append((r.start, start)) }
            if end < r.end { cut.append((end, r.end)) }
        }
        ranges = cut
    }

    func alloc(_ size: UInt64, align: UInt64 = MachineLayout.pageSize, reserve: Bool = true) -> UInt64 {
        for i in stride(from: ranges.count - 1, through: 0, by: -1) {
            let r = ranges[i]
            guard r.end >= size else { continue }
            let start = (r.end - size) & ~(align - 1)
            if start >= r.start {
                ranges[i].end = start
                let ps = MachineLayout.pageSize
                if reserve { reserved.append((start, start + ((size + ps - 1) & ~(ps - 1)))) }
                return start
            }
        }
        fatalError("vmsim: out of memory for boot allocations (\(size) bytes); use a larger --memory")
    }

    /// What is left for the page allocator, in pfns.
    func freePfnRanges(excluding extra: [(start: UInt64, end: UInt64)]) -> [(UInt64, UInt64)] {
        var result: [(UInt64, UInt64)] = []
        let cuts = (reserved + extra).sorted { $0.start < $1.start }
        for r in ranges {
            var cur = r.start
            for c in cuts where c.end > cur && c.start < r.end {
                if c.start > cur { result.append((cur, c.start)) }
                cur = max(cur, c.end)
            }
            if cur < r.end { result.append((cur, r.end)) }
        }
        let ps = MachineLayout.pageSize
        return result.map { (($0.0 + ps - 1) / ps, $0.1 / ps) }.filter { $0.0 < $0.1 }
    }
}

/// A bump allocator for small kernel objects (kmalloc-like) inside pages taken from memblock,
/// addressed through the direct map.
final class KernelHeap {
    private let memblock: Memblock
    private let kmem: KernelMemory
    private var cur: UInt64 = 0
    private var end: UInt64 = 0

    init(memblock: Memblock, kmem: KernelMemory) {
        self.memblock = memblock
        self.kmem = kmem
    }

    /// Returns the direct-map VA of `size` zeroed bytes.
    func alloc(_ size: Int, align: UInt64 = 16) -> UInt64 {
        var start = (cur + align - 1) & ~(align - 1)
        if cur == 0 || start + UInt64(size) > end {
            let ps = MachineLayout.pageSize
            let chunk = max(UInt64(64 << 10), (UInt64(size) + ps - 1) & ~(ps - 1))
            let pa = memblock.alloc(chunk)
            cur = kmem.directMap(pa)
            end = cur + chunk
            start = cur
        }
        cur = start + UInt64(size)
        return start
    }
}
