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

    func mapKernel() {
        var va = kmem.imageStart & ~(MachineLayout.twoMiB - 1)
        while va < kmem.imageEnd {
            pageTables.map2M(va: va, pa: va &- ImageBuilder.startKernelMap &+ layout.physBase, executable: true)
            va &+= MachineLayout.twoMiB
        }
        for r in layout.ram {
            var pa = r.start & ~(MachineLayout.twoMiB - 1)
            while pa < r.end {
                pageTables.map2M(va: kmem.directMap(pa), pa: pa)
                pa += MachineLayout.twoMiB
            }
        }
    }

    /// One 2 MiB block of struct pages per present section, mapped into vmemmap.
    func allocateMemmap(_ sections: [UInt64]) -> [UInt64: UInt64] {
        var result: [UInt64: UInt64] = [:]
        for s in sections {
            let pa = memblock.alloc(MachineLayout.twoMiB, align: MachineLayout.twoMiB)
            pageTables.map2M(va: layout.vmemmapBase &+ s * MachineLayout.twoMiB, pa: pa)
            result[s] = pa
        }
        return result
    }

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
    /// by page, scattered) for one, as alloc_page_ext falls back to vzalloc.
    func allocatePageExt(_ sections: [UInt64]) {
        let bytes = pageExtBytesPerSection
        let vmallocSection = sections.count == 1 ? sections[0] : sections[1]
        for s in sections {
            let pa = memblock.alloc(bytes, reserve: false)
            untrackedRanges.append((pa >> 12, (pa + bytes) >> 12))
            if s == vmallocSection {
                let va = layout.vmallocBase &+ 0x0080_0000
                let pages = bytes / 4096
                for i in 0..<pages { kmem.map(virtualPage: va + i * 4096, toPhysical: pa + (pages - 1 - i) * 4096) }
                for i in 0..<pages { pageTables.map4K(va: va + i * 4096, pa: pa + (pages - 1 - i) * 4096) }
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

    /// mem_section roots, the sections, their usage maps, and mem_map as a bulk region.
    func writeSections(_ sections: [UInt64], memmapPhys: [UInt64: UInt64], pageblockType: [UInt64: Int]) {
        let rootsVA = kmem.directMap(memblock.alloc(4096 * 8))
        var rootPages: [UInt64: UInt64] = [:]
        for s in sections where rootPages[s / 128] == nil {
            let va = kmem.directMap(memblock.alloc(4096))
            rootPages[s / 128] = va
            kmem.writeU64(rootsVA + (s / 128) * 8, va)
        }
        // 64 pageblocks per section, NR_PAGEBLOCK_BITS (4, or 8 from 6.16) each.
        let bitsPerBlock = UInt64(profile.pageblockBits)
        let flagWords = Int(64 * bitsPerBlock / 64)
        let usageSize = layouts.offset("mem_section_usage", "pageblock_flags") + UInt64(flagWords * 8)
        let usageBase = kmem.directMap(memblock.alloc(UInt64(sections.count) * usageSize))
        let pps = MachineLayout.pagesPerSection
        for (n, s) in sections.enumerated() {
            let entry = rootPages[s / 128]! + (s % 128) * 32
            let usage = usageBase + UInt64(n) * usageSize
            kmem.writeU64(entry, layout.vmemmapBase | 0xf)   // PRESENT | HAS_MEM_MAP | ONLINE | EARLY
            kmem.writeU64(entry + 8, usage)
            if let pe = pageExtSections[s] { kmem.writeU64(entry + 16, pe &- pageExtSize &* (s * pps)) }
            var subsections: UInt64 = 0
            for i in 0..<UInt64(64) {
                let a = (s * pps + i * 512) << 12, b = a + MachineLayout.twoMiB
                if layout.ram.contains(where: { $0.start < b && $0.end > a }) { subsections |= 1 << i }
            }
            kmem.writeU64(usage + 16, subsections)
            var words = [UInt64](repeating: 0, count: flagWords)
            let perWord = Int(64 / bitsPerBlock)
            for i in 0..<64 {
                let mt = UInt64(pageblockType[s * 64 + UInt64(i)] ?? 1)
                words[i / perWord] |= mt << (UInt64(i % perWord) * bitsPerBlock)
            }
            for (w, v) in words.enumerated() { kmem.writeU64(usage + layouts.offset("mem_section_usage", "pageblock_flags") + UInt64(w * 8), v) }

            let map = pfnMap!, blocks = workload.blocks, vmemmap = layout.vmemmapBase, prof = profile
            let charge: (MemcgCharge) -> UInt64 = { [unowned self] in self.memcgData($0) }
            phys.addBulk(PhysicalMemory.BulkRegion(physical: memmapPhys[s]!, length: MachineLayout.twoMiB) { buf in
                map.fillStructPages(first: s * pps, count: Int(pps), buf: buf, blocks: blocks,
                                    memcgData: charge, vmemmapBase: vmemmap, profile: prof)
            })
        }
        kmem.writeU64(sym("mem_section"), rootsVA)
    }

    func writePageExt(_ sections: [UInt64]) {
        let map = pfnMap!, blocks = workload.blocks, tasks = workload.tasks
        let slot = PageExtSlot(layouts: layouts, profile: profile)
        let pps = MachineLayout.pagesPerSection
        let bytes = pageExtBytesPerSection
        for s in sections {
            guard let va = pageExtSections[s] else { continue }
            if let pa = kmem.physical(of: va), va >= layout.pageOffsetBase, va < layout.pageOffsetBase &+ layout.endPhys {
                phys.addBulk(PhysicalMemory.BulkRegion(physical: pa, length: bytes) { buf in
                    map.fillPageExt(first: s * pps, count: Int(pps), buf: buf, blocks: blocks, tasks: tasks, slot: slot)
                })
            } else {
                var data = [UInt8](repeating: 0, count: Int(bytes))
                data.withUnsafeMutableBytes { map.fillPageExt(first: s * pps, count: Int(pps), buf: $0, blocks: blocks, tasks: tasks, slot: slot) }
                var off = 0
                while off < data.count {
                    let page = Array(data[off..<(off + 4096)])
                    if page.contains(where: { $0 != 0 }) { kmem.write(va + UInt64(off), page) }
                    off += 4096
                }
            }
        }
    }
}
