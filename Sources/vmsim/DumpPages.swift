/// The simulated RAM page by page, in pfn order, for the writers that must see every page
/// (kdump-compressed, filtered ELF). Only the pages the simulation wrote (the sparse page store
/// and the bulk regions) are touched; every other page is known to be zero without looking,
/// which is what keeps 64 GiB machines quick.
final class DumpPages {
    /// The kernel's page size; the simulator's page store keeps 4 KiB pieces of it.
    static var pageSize: Int { Int(MachineLayout.pageSize) }
    private let shift = MachineLayout.pageShift
    private static let storePage = 4096

    /// 4 KiB store pieces (PA >> 12) the simulator's page store wrote, ascending.
    private let sparsePfns: [UInt64]
    private let bulk: [PhysicalMemory.BulkRegion]
    private let phys: PhysicalMemory
    private let pfnMap: PfnMap
    private let blocks: [OwnerBlock]
    /// RAM as pfn ranges [start, end), ascending (pages partly covered are left out).
    let ramPfns: [(start: UInt64, end: UInt64)]
    /// One past the last RAM pfn (max_mapnr).
    let maxPfn: UInt64
    /// One bit per pfn that holds kernel data for certain: memblock's reserved ranges (all of
    /// them, also those taken after the pfn map was built), the bulk regions and every page
    /// the simulator wrote. See isUserOrFree.
    private var kernelData: [UInt64]

    init(sim: Simulator) {
        phys = sim.phys
        pfnMap = sim.pfnMap
        blocks = sim.workload.blocks
        sparsePfns = sim.phys.pages.keys.sorted()
        bulk = sim.phys.bulk.sorted { $0.physical < $1.physical }
        let ps = MachineLayout.pageSize, shift = MachineLayout.pageShift
        ramPfns = sim.layout.ram.map { (start: ($0.start + ps - 1) / ps, end: $0.end / ps) }.filter { $0.start < $0.end }
        maxPfn = sim.layout.maxPfn
        kernelData = [UInt64](repeating: 0, count: Int(maxPfn / 64 + 1))
        func mark(_ a: UInt64, _ b: UInt64) {
            var p = a
            while p < min(b, maxPfn) { kernelData[Int(p >> 6)] |= 1 << (p & 63); p += 1 }
        }
        for r in sim.memblock.reserved { mark(r.start >> shift, (r.end + ps - 1) >> shift) }
        for r in bulk { mark(r.physical >> shift, (r.physical &+ r.length + ps - 1) >> shift) }
        for p in sparsePfns { let k = (p << 12) >> shift; mark(k, k + 1) }
    }

    /// Whether `makedumpfile -d 31` would drop the page for what it is (zero pages aside):
    /// free pages (in a buddy block) and pages on the LRU (anonymous memory and page cache).
    /// Pages holding kernel data are never dropped: the simulator takes some memblock memory
    /// (mem_section roots, pglist_data, module page tables...) after its pfn map was built, so
    /// their struct pages still say "free"; makedumpfile, trusting struct page, drops them.
    func isUserOrFree(_ pfn: UInt64) -> Bool {
        if pfn < maxPfn, kernelData[Int(pfn >> 6)] & (1 << (pfn & 63)) != 0 { return false }
        let kinds = pfnMap.kind
        guard pfn < UInt64(kinds.count) else { return false }
        let k = kinds[Int(pfn)]
        if k & PfnMap.Kind.buddyHead.rawValue != 0 || k == PfnMap.Kind.free.rawValue { return true }
        guard k == PfnMap.Kind.allocated.rawValue else { return false }
        let owner = pfnMap.owner[Int(pfn)]
        guard owner >= 0, Int(owner) < blocks.count else { return false }
        return blocks[Int(owner)].pageFlags & PageFlag.lru != 0
    }

    /// One run of consecutive RAM pages handed to the writer. `data` holds `count` pages;
    /// `written[i]` is false for pages that are zero for certain.
    struct Chunk {
        let firstPfn: UInt64
        let count: Int
        let data: UnsafeMutableRawBufferPointer
        let written: [Bool]

        func page(_ i: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: data[(i * DumpPages.pageSize)..<((i + 1) * DumpPages.pageSize)])
        }

        /// True when page i holds only zero bytes.
        func isZero(_ i: Int) -> Bool {
            guard written[i] else { return true }
            return DumpPages.isZero(page(i))
        }
    }

    static func isZero(_ page: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i + 8 <= page.count {
            if page.load(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        return true
    }

    /// Calls `body` for every RAM page in pfn order, `chunkPages` pages at a time (never across
    /// a RAM range boundary). The chunk memory is reused: `body` must copy what it keeps.
    func forEachChunk(chunkPages: Int = (32 << 20) / DumpPages.pageSize, _ body: (Chunk) throws -> Void) throws {
        let ps = DumpPages.pageSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkPages * ps, alignment: 4096)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        var written = [Bool](repeating: false, count: chunkPages)
        var sparseIndex = 0
        var bulkIndex = 0
        var region: (index: Int, bytes: UnsafeMutableRawBufferPointer)? = nil
        defer { region?.bytes.deallocate() }

        for range in ramPfns {
            var first = range.start
            while first < range.end {
                let count = Int(min(UInt64(chunkPages), range.end - first))
                let end = first + UInt64(count)
                // Clear what the previous chunk wrote.
                for i in 0..<chunkPages where written[i] {
                    UnsafeMutableRawBufferPointer(rebasing: buffer[(i * ps)..<((i + 1) * ps)]).initializeMemory(as: UInt8.self, repeating: 0)
                    written[i] = false
                }
                // Pages from the sparse store (4 KiB pieces, placed inside their kernel page).
                let sp = DumpPages.storePage
                while sparseIndex < sparsePfns.count && (sparsePfns[sparseIndex] << 12) >> shift < first { sparseIndex += 1 }
                while sparseIndex < sparsePfns.count && (sparsePfns[sparseIndex] << 12) >> shift < end {
                    let spfn = sparsePfns[sparseIndex]
                    let i = Int((spfn << 12) >> shift - first)
                    let at = i * ps + Int((spfn << 12) & UInt64(ps - 1))
                    if let bytes = phys.pages[spfn] {
                        bytes.withUnsafeBytes { src in
                            UnsafeMutableRawBufferPointer(rebasing: buffer[at..<(at + sp)]).copyMemory(from: src)
                        }
                        written[i] = true
                    }
                    sparseIndex += 1
                }
                // Bulk regions overlapping the chunk: generated once each, their non-zero pages
                // laid over the sparse ones (as the ELF writer does).
                let chunkStart = first << shift, chunkEnd = end << shift
                while bulkIndex < bulk.count && bulk[bulkIndex].physical &+ bulk[bulkIndex].length <= chunkStart { bulkIndex += 1 }
                var b = bulkIndex
                while b < bulk.count && bulk[b].physical < chunkEnd {
                    let r = bulk[b]
                    if region?.index != b {
                        region?.bytes.deallocate()
                        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(r.length), alignment: 4096)
                        bytes.initializeMemory(as: UInt8.self, repeating: 0)
                        r.fill(bytes)
                        region = (b, bytes)
                    }
                    let from = max(r.physical, chunkStart), to = min(r.physical &+ r.length, chunkEnd)
                    var pa = from & ~UInt64(ps - 1)
                    while pa < to {
                        // Page-granular overlay; a region edge inside a page copies its part.
                        let a = max(pa, r.physical), z = min(pa + UInt64(ps), r.physical &+ r.length, to)
                        let src = UnsafeRawBufferPointer(rebasing: region!.bytes[Int(a - r.physical)..<Int(z - r.physical)])
                        if !DumpPages.isZeroBytes(src) {
                            let i = Int((pa >> shift) - first)
                            UnsafeMutableRawBufferPointer(rebasing: buffer[(i * ps + Int(a - pa))...]).copyMemory(from: src)
                            written[i] = true
                        }
                        pa += UInt64(ps)
                    }
                    b += 1
                }
                try body(Chunk(firstPfn: first, count: count, data: buffer, written: written))
                first = end
            }
        }
    }

    /// The pages a `makedumpfile -d 31` dump keeps, one bit per pfn (LSB first) in a bitmap
    /// of `bytes` bytes: those that are neither zero, free nor on the LRU.
    func filteredBitmap(bytes: Int) throws -> [UInt8] {
        var bitmap = [UInt8](repeating: 0, count: bytes)
        try forEachChunk { chunk in
            for i in 0..<chunk.count where chunk.written[i] {
                let pfn = chunk.firstPfn + UInt64(i)
                guard Int(pfn >> 3) < bytes else { continue }
                if !chunk.isZero(i) && !isUserOrFree(pfn) { bitmap[Int(pfn >> 3)] |= 1 << UInt8(pfn & 7) }
            }
        }
        return bitmap
    }

    private static func isZeroBytes(_ b: UnsafeRawBufferPointer) -> Bool {
        if b.count % 8 == 0 { return isZero(b) }
        return !b.contains(where: { $0 != 0 })
    }
}
