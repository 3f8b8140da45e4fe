/// Physical RAM ranges, KASLR offsets and the randomized virtual bases of one simulated boot.
struct MachineLayout {
    static var pageSize: UInt64 { Platform.current.pageSize }
    static var pageShift: UInt64 { Platform.current.pageShift }
    static var sectionShift: UInt64 { Platform.current.sectionShift }
    static var pagesPerSection: UInt64 { Platform.current.pagesPerSection }
    static var pageblockOrder: UInt64 { Platform.current.pageblockOrder }
    static var maxOrder: UInt64 { Platform.current.maxOrder }
    static let twoMiB: UInt64 = 2 << 20
    static let oneGiB: UInt64 = 1 << 30

    /// RAM as [start, end) physical byte ranges, ascending.
    let ram: [(start: UInt64, end: UInt64)]
    let memoryBytes: UInt64
    let kernelOffset: UInt64      // KERNELOFFSET
    let kernelLoadPhys: UInt64    // physical address of _text
    let physBase: UInt64          // phys_base (two's complement when negative); arm64: PHYS_OFFSET
    /// The VA of physical address 0 through the linear map (x86 page_offset_base; arm64
    /// PAGE_OFFSET - PHYS_OFFSET), so that directMap(pa) = pageOffsetBase + pa.
    let pageOffsetBase: UInt64
    /// Image VA - PA (x86: __START_KERNEL_map - phys_base).
    let kimageVoffset: UInt64
    /// arm64's layout numbers (nil on x86_64).
    let arm64: ARM64Layout?
    let vmallocBase: UInt64
    let vmemmapBase: UInt64
    let moduleBase: UInt64        // where the module's text is mapped

    var maxPfn: UInt64 { ram.last!.end / MachineLayout.pageSize }
    var endPhys: UInt64 { ram.last!.end }

    init(memoryBytes: UInt64, rng: inout SeededRandom) {
        self.memoryBytes = memoryBytes
        if Platform.current.isARM64 {
            let a = ARM64Layout(memoryBytes: memoryBytes, rng: &rng)
            arm64 = a
            ram = [(start: ARM64Layout.ramBase, end: ARM64Layout.ramBase + memoryBytes)]
            kernelOffset = a.kaslrOffset
            kernelLoadPhys = a.imagePhys
            physBase = a.physOffset
            pageOffsetBase = a.pageOffset &- a.physOffset
            kimageVoffset = a.kimageVoffset
            vmallocBase = a.vmallocStart
            vmemmapBase = a.vmemmap
            moduleBase = a.modulesVaddr &+ (0x100 + rng.below(0x300)) * MachineLayout.pageSize
            return
        }
        arm64 = nil
        let mib: UInt64 = 1 << 20
        var ranges: [(UInt64, UInt64)] = [(0x1000, 0x9f000)]
        let threeG = 3 * MachineLayout.oneGiB
        if memoryBytes > threeG {
            // A PC: RAM up to 3 GiB, the PCI hole, the rest above 4 GiB.
            ranges.append((mib, threeG))
            ranges.append((4 * MachineLayout.oneGiB, 4 * MachineLayout.oneGiB + (memoryBytes - threeG)))
        } else if memoryBytes >= 512 * mib {
            // One memory section missing in the middle (a hole with no mem_map).
            let half = memoryBytes / 2
            ranges.append((mib, half))
            ranges.append((half + (1 << MachineLayout.sectionShift), memoryBytes + (1 << MachineLayout.sectionShift)))
        } else {
            ranges.append((mib, memoryBytes))
        }
        ram = ranges.map { (start: $0.0, end: $0.1) }

        kernelOffset = (8 + rng.below(0x1e0)) * MachineLayout.twoMiB
        // The image goes into low RAM, 2 MiB aligned, between 16 MiB and a quarter of memory.
        let top = max(32 * mib, min(memoryBytes / 4, 512 * mib))
        kernelLoadPhys = 16 * mib + rng.below((top - 16 * mib) / MachineLayout.twoMiB) * MachineLayout.twoMiB
        physBase = kernelLoadPhys &- (ImageBuilder.textLinkAddress &- ImageBuilder.startKernelMap) &- kernelOffset
        kimageVoffset = ImageBuilder.startKernelMap &- physBase
        pageOffsetBase = 0xffff_8880_0000_0000 &+ rng.below(2048) * MachineLayout.oneGiB
        vmallocBase = 0xffff_c900_0000_0000 &+ rng.below(2048) * MachineLayout.oneGiB
        vmemmapBase = 0xffff_ea00_0000_0000 &+ rng.below(1024) * MachineLayout.oneGiB
        moduleBase = 0xffff_ffff_c000_0000 &+ (0x100 + rng.below(0x300)) * MachineLayout.pageSize
    }

    func isRAM(pfn: UInt64) -> Bool {
        let pa = pfn * MachineLayout.pageSize
        return ram.contains { pa >= $0.start && pa < $0.end }
    }

    /// Whether any RAM lies in pageblock `block` (pageblock_order 9).
    func blockHasRAM(_ block: UInt64) -> Bool {
        let shift = MachineLayout.pageblockOrder + MachineLayout.pageShift
        let a = block << shift, b = a + (1 << shift)
        return ram.contains { $0.start < b && $0.end > a }
    }

    /// Sections that hold any RAM (those get a mem_map and page_ext).
    var presentSections: [UInt64] {
        var result: [UInt64] = []
        for r in ram {
            var s = r.start >> MachineLayout.sectionShift
            while s << MachineLayout.sectionShift < r.end {
                if result.last != s { result.append(s) }
                s += 1
            }
        }
        return result
    }

    /// Zone of a pfn: DMA below 16 MiB, DMA32 below 4 GiB, Normal above. arm64 (QEMU virt,
    /// no DMA-limited device): ZONE_DMA spans all RAM below 4 GiB, DMA32 is empty.
    static func zone(ofPfn pfn: UInt64) -> UInt64 {
        if Platform.current.isARM64 { return pfn < (1 << (32 - MachineLayout.pageShift)) ? 0 : 2 }
        if pfn < 4096 { return 0 }
        if pfn < (1 << 20) { return 1 }
        return 2
    }
}
