/// Early boot memory: the image in RAM, the kernel's mappings, mem_map, page_ext, sections.
extension Simulator {
    /// One page_ext slot: flags + the profile's struct page_owner.
    var pageExtSize: UInt64 { profile.pageExtSize }
    var pageExtBytesPerSection: UInt64 { MachineLayout.pagesPerSection * pageExtSize }

    /// Copies the loaded sections to the image's physical place and applies the KASLR slide
    /// to every absolute pointer the linker left (R_X86_64_64), as the decompressor does.
    func copyImage() {
        let link = ImageBuilder.textLinkAddress
        for s in image.sections where s.type == 1 && s.flags & 2 != 0 && s.size > 0 {
            let o = Int(s.offset)
            phys.write(physical: layout.kernelLoadPhys + (s.address - link), Array(image.bytes[o..<(o + Int(s.size))]))
        }
        for r in image.absoluteRelocations {
            guard let o = image.fileOffset(ofAddress: r), let v = try? image.u64(o) else { continue }
            phys.writeU64(physical: layout.kernelLoadPhys + (r - link), v &+ layout.kernelOffset)
        }
    }

    /// The image in 2 MiB units (blocks with 4K pages, pages otherwise on arm64), then the
    /// linear map of all RAM (2 MiB blocks on x86_64; on arm64 the largest blocks alignment
    /// allows: 1 GiB and 2 MiB with 4K pages, 32 MiB with 16K, 512 MiB with 64K).
    func mapKernel() {
        let twoMiB = MachineLayout.twoMiB
        let va = kmem.imageStart & ~(twoMiB - 1)
        let end = (kmem.imageEnd + twoMiB - 1) & ~(twoMiB - 1)
        pageTables.map(va: va, pa: va &- layout.kimageVoffset, length: end &- va, executable: true)
        for r in layout.ram {
            let pa = r.start & ~(twoMiB - 1)
            pageTables.map(va: kmem.directMap(pa), pa: pa, length: ((r.end + twoMiB - 1) & ~(twoMiB - 1)) - pa, executable: false)
        }
    }

    /// Where the struct pages live: per memory model, the pieces of mem_map (the pfn range of
    /// one memory section each: 32768 pfns with 4K pages).
    struct Memmap {
        struct Chunk {
            /// Physical address of the chunk's struct pages (2 MiB with 4K pages).
            let physical: UInt64
            /// Biased: the struct page of pfn p of this chunk is at base + p·64 (vmemmap, FLATMEM's
            /// mem_map, or a section's own array less its first pfn).
            let base: UInt64
        }
        /// Section-sized chunk number -> its struct pages.
        let chunks: [UInt64: Chunk]
        /// FLATMEM's mem_map: the struct page of pfn 0 (node 0 starts there).
        var flatMemMap: UInt64 { chunks[0]?.base ?? 0 }
    }

    /// SPARSEMEM_VMEMMAP: one 2 MiB block of struct pages per present section, mapped into
    /// vmemmap. SPARSEMEM without VMEMMAP: the same blocks in the direct map, each its section's
    /// own array. FLATMEM: one physically contiguous mem_map for every pfn below max_mapnr,
    /// holes included, in the direct map.
    func allocateMemmap(_ sections: [UInt64]) -> Memmap {
        var chunks: [UInt64: Memmap.Chunk] = [:]
        let bytes = platform.memmapBytesPerSection
        if memoryModel.isSparse {
            for s in sections {
                let pa = memblock.alloc(bytes, align: bytes)
                if memoryModel.hasVmemmap {
                    // vmemmap_populate: PMD blocks with 4K pages, base pages with 16K/64K.
                    pageTables.map(va: layout.vmemmapBase &+ s * bytes, pa: pa, length: bytes, executable: false)
                    chunks[s] = Memmap.Chunk(physical: pa, base: layout.vmemmapBase)
                } else {
                    chunks[s] = Memmap.Chunk(physical: pa, base: kmem.directMap(pa) &- s * bytes)
                }
            }
            return Memmap(chunks: chunks)
        }
        let pa = memblock.alloc(flatChunkCount * bytes, align: bytes)
        for s in 0..<flatChunkCount { chunks[s] = Memmap.Chunk(physical: pa + s * bytes, base: kmem.directMap(pa)) }
        return Memmap(chunks: chunks)
    }

    /// FLATMEM's arrays cover [0, max_pfn) rounded up to whole section-sized chunks (the
    /// kernel rounds to MAX_ORDER_NR_PAGES; the reader reads no further than max_mapnr).
    var flatChunkCount: UInt64 { (layout.maxPfn + MachineLayout.pagesPerSection - 1) / MachineLayout.pagesPerSection }

    /// The stack depot hash table: a static array of 2^20 pointers (5.4/5.10), 2^20 pointers
    /// from memblock (5.15), or one bucket per 16 KiB of RAM, 2^12 ... 2^20 buckets, of
    /// pointers (6.1–6.7) or list_heads (6.8+).
    func allocateStackTable() -> (va: UInt64, buckets: Int) {
        switch profile.tableKind {
        case .staticArray: return (sym("stack_table"), 1 << 20)
        case .pointerNoMask: return (kmem.directMap(memblock.alloc(8 << 20)), 1 << 20)
        case .pointerWithMask, .listHeads:
            let ram = layout.ram.reduce(UInt64(0)) { $0 + $1.end - $1.start }
            var n: UInt64 = 1
            while n < ram >> 14 { n <<= 1 }
            n = min(max(n, 1 << 12), 1 << 20)
            let bucket: UInt64 = profile.tableKind == .listHeads ? 16 : 8
            return (kmem.directMap(memblock.alloc(n * bucket)), Int(n))
        }
    }

    /// page_ext arrays: physically contiguous (direct map) for most sections, vmalloc'd (page
    /// by page, scattered) for one, as alloc_page_ext falls back to vzalloc. FLATMEM has one
    /// node-wide array from memblock, recorded here chunk by chunk.
    func allocatePageExt(_ sections: [UInt64]) {
        let bytes = pageExtBytesPerSection
        guard memoryModel.isSparse else {
            let count = flatChunkCount
            let pa = memblock.alloc(count * bytes, reserve: false)
            let ps = MachineLayout.pageSize, shift = MachineLayout.pageShift
            untrackedRanges.append((pa >> shift, (pa + count * bytes + ps - 1) >> shift))
            for s in 0..<count { pageExtSections[s] = kmem.directMap(pa + s * bytes) }
            return
        }
        let vmallocSection = sections.count == 1 ? sections[0] : sections[1]
        for s in sections {
            let pa = memblock.alloc(bytes, reserve: false)
            untrackedRanges.append((pa >> MachineLayout.pageShift, (pa + bytes) >> MachineLayout.pageShift))
            if s == vmallocSection {
                let va = layout.vmallocBase &+ 0x0080_0000
                let ps = MachineLayout.pageSize
                let pages = bytes / ps
                for i in 0..<pages { kmem.map(virtualPage: va + i * ps, toPhysical: pa + (pages - 1 - i) * ps) }
                for i in 0..<pages { pageTables.map(va: va + i * ps, pa: pa + (pages - 1 - i) * ps, length: ps, executable: false) }
                pageExtSections[s] = va
            } else {
                pageExtSections[s] = kmem.directMap(pa)
            }
        }
    }

    func memcgData(_ c: MemcgCharge) -> UInt64 {
        switch c {
        case .none: return 0
        case .memcg(let i): return memcgAddresses[i].memcg
        case .objcg(let i): return memcgAddresses[i].objcg | 2
        case .slabObjExts: return (slabVectors.first ?? 0) | 1
        }
    }

    /// The struct pages of every chunk of mem_map, generated from the pfn map when written.
    func writeMemmap(_ memmap: Memmap) {
        let map = pfnMap!, blocks = workload.blocks, prof = profile
        let pps = MachineLayout.pagesPerSection
        let charge: (MemcgCharge) -> UInt64 = { [unowned self] in self.memcgData($0) }
        for (s, chunk) in memmap.chunks.sorted(by: { $0.key < $1.key }) {
            phys.addBulk(PhysicalMemory.BulkRegion(physical: chunk.physical, length: platform.memmapBytesPerSection) { buf in
                map.fillStructPages(first: s * pps, count: Int(pps), buf: buf, blocks: blocks,
                                    memcgData: charge, memmapBase: chunk.base, profile: prof)
            })
        }
    }

    /// SPARSEMEM: the sections (under root pages with EXTREME, in the static array without)
    /// and their usage maps with the pageblock flags.
    func writeSections(_ sections: [UInt64], memmap: Memmap) {
        let sectionSize = layouts.size("mem_section")
        let entryOf: (UInt64) -> UInt64
        if memoryModel != .sparseStatic {
            let perRoot = platform.sectionsPerRoot
            let rootsVA = kmem.directMap(memblock.alloc(memoryModel.sectionRoots * 8))
            var rootPages: [UInt64: UInt64] = [:]
            for s in sections where rootPages[s / perRoot] == nil {
                let va = kmem.directMap(memblock.alloc(MachineLayout.pageSize))
                rootPages[s / perRoot] = va
                kmem.writeU64(rootsVA + (s / perRoot) * 8, va)
            }
            kmem.writeU64(sym("mem_section"), rootsVA)
            entryOf = { rootPages[$0 / perRoot]! + ($0 % perRoot) * sectionSize }
        } else {
            let table = sym("mem_section")
            entryOf = { table + $0 * sectionSize }
        }
        // 64 pageblocks per section (4K pages; 4 with 16K, 1 with 64K), NR_PAGEBLOCK_BITS (4,
        // or 8 from 6.16) each.
        let blocksPerSection = platform.pageblocksPerSection
        let flagsAt = layouts.offset("mem_section_usage", "pageblock_flags")
        let usageSize = flagsAt + UInt64(pageblockWords(blocks: blocksPerSection) * 8)
        let usageBase = kmem.directMap(memblock.alloc(UInt64(sections.count) * usageSize))
        let pps = MachineLayout.pagesPerSection
        for (n, s) in sections.enumerated() {
            let entry = entryOf(s)
            let usage = usageBase + UInt64(n) * usageSize
            // section_mem_map holds the section's mem_map less its first pfn (with VMEMMAP,
            // vmemmap itself), with PRESENT | HAS_MEM_MAP | ONLINE | EARLY in the low bits.
            kmem.writeU64(entry + layouts.offset("mem_section", "section_mem_map"), memmap.chunks[s]!.base | 0xf)
            kmem.writeU64(entry + layouts.offset("mem_section", "usage"), usage)
            if let pe = pageExtSections[s] {
                kmem.writeU64(entry + layouts.offset("mem_section", "page_ext"), pe &- pageExtSize &* (s * pps))
            }
            // One bit per 2 MiB subsection: 64 (one word) or 256 (64K pages) per section.
            let sectionStart = s << platform.sectionShift
            for w in 0..<(platform.subsectionsPerSection / 64) {
                var subsections: UInt64 = 0
                for i in 0..<UInt64(64) {
                    let a = sectionStart + (w * 64 + i) * MachineLayout.twoMiB, b = a + MachineLayout.twoMiB
                    if layout.ram.contains(where: { $0.start < b && $0.end > a }) { subsections |= 1 << i }
                }
                kmem.writeU64(usage + layouts.offset("mem_section_usage", "subsection_map") + w * 8, subsections)
            }
            writePageblockFlags(at: usage + flagsAt, firstBlock: s * blocksPerSection, blocks: blocksPerSection)
        }
    }

    /// Words of a pageblock bitmap for `blocks` pageblocks of NR_PAGEBLOCK_BITS each.
    func pageblockWords(blocks: UInt64) -> Int {
        Int((blocks * UInt64(profile.pageblockBits) + 63) / 64)
    }

    /// The migratetype of a pageblock: the workload's, Movable for other blocks with RAM
    /// (memmap_init), Unmovable (never set) for blocks wholly in a hole.
    func pageblockType(_ block: UInt64) -> Int {
        pageblockTypes[block] ?? (layout.blockHasRAM(block) ? 1 : 0)
    }

    /// pfn_valid: SPARSEMEM by section; FLATMEM's mem_map covers every pfn below max_mapnr.
    func isValidPfn(_ pfn: UInt64) -> Bool {
        memoryModel.isSparse ? presentSectionSet.contains(pfn >> (MachineLayout.sectionShift - MachineLayout.pageShift)) : pfn < layout.maxPfn
    }

    /// A pageblock bitmap: the migratetype of blocks [firstBlock, firstBlock + blocks) in the
    /// low bits of each NR_PAGEBLOCK_BITS group.
    func writePageblockFlags(at va: UInt64, firstBlock: UInt64, blocks: UInt64) {
        let bitsPerBlock = UInt64(profile.pageblockBits)
        var words = [UInt64](repeating: 0, count: pageblockWords(blocks: blocks))
        for i in 0..<blocks {
            let mt = UInt64(pageblockType(firstBlock + i))
            let bit = i * bitsPerBlock
            words[Int(bit / 64)] |= mt << (bit % 64)
        }
        for (w, v) in words.enumerated() { kmem.writeU64(va + UInt64(w * 8), v) }
    }

    /// FLATMEM: mem_map and max_mapnr, node 0's arrays, and each zone's pageblock bitmap,
    /// indexed from the zone's first pfn rounded down to a pageblock.
    func writeFlatNode(pgdat: UInt64, memmap: Memmap, zones: [(va: UInt64, span: ZoneSpan)]) {
        kmem.writeU64(sym("mem_map"), memmap.flatMemMap)
        kmem.writeU64(sym("max_mapnr"), layout.maxPfn)
        kmem.writeU64(pgdat + layouts.offset("pglist_data", "node_mem_map"), memmap.flatMemMap)
        kmem.writeU64(pgdat + layouts.offset("pglist_data", "node_page_ext"), pageExtSections[0] ?? 0)
        let order = MachineLayout.pageblockOrder
        for z in zones where z.span.spannedPages > 0 {
            let first = z.span.startPfn >> order
            let blocks = ((z.span.endPfn + (1 << order) - 1) >> order) - first
            let bitmap = kmem.directMap(memblock.alloc(UInt64(pageblockWords(blocks: blocks) * 8), align: 8))
            kmem.writeU64(z.va + layouts.offset("zone", "pageblock_flags"), bitmap)
            writePageblockFlags(at: bitmap, firstBlock: first, blocks: blocks)
        }
    }

    func writePageExt() {
        let map = pfnMap!, blocks = workload.blocks, tasks = workload.tasks
        let slot = PageExtSlot(layouts: layouts, profile: profile)
        let pps = MachineLayout.pagesPerSection
        let bytes = pageExtBytesPerSection
        for (s, va) in pageExtSections.sorted(by: { $0.key < $1.key }) {
            if let pa = kmem.physical(of: va), va >= layout.pageOffsetBase, va < layout.pageOffsetBase &+ layout.endPhys {
                phys.addBulk(PhysicalMemory.BulkRegion(physical: pa, length: bytes) { buf in
                    map.fillPageExt(first: s * pps, count: Int(pps), buf: buf, blocks: blocks, tasks: tasks, slot: slot)
                })
            } else {
                var data = [UInt8](repeating: 0, count: Int(bytes))
                data.withUnsafeMutableBytes { map.fillPageExt(first: s * pps, count: Int(pps), buf: $0, blocks: blocks, tasks: tasks, slot: slot) }
                var off = 0
                while off < data.count {
                    let ps = Int(MachineLayout.pageSize)
                    let page = Array(data[off..<(off + ps)])
                    if page.contains(where: { $0 != 0 }) { kmem.write(va + UInt64(off), page) }
                    off += ps
                }
            }
        }
    }
}
