import ELFCore

/// Where each pfn's struct page, page_ext slot and pageblock flags are, read once, in
/// fixed-size pieces so the page walk finds a pfn's piece by a shift: SPARSEMEM's memory
/// sections (from `mem_section`, with or without EXTREME), or FLATMEM's node arrays
/// (`node_mem_map`, `node_page_ext`) cut into MAX_ORDER_NR_PAGES pieces.
public struct MemoryMap: Sendable {
    public enum Model: String, Sendable {
        case sparseExtreme = "SPARSEMEM_EXTREME"
        case sparseStatic = "SPARSEMEM"
        case flat = "FLATMEM"
    }

    /// One piece of the pfn space.
    public struct Section: Sendable {
        /// The pfns have struct pages (SPARSEMEM: SECTION_HAS_MEM_MAP; FLATMEM: inside a node).
        public var hasMemMap = false
        /// Valid for the whole piece (SPARSEMEM's SECTION_IS_EARLY; every FLATMEM piece);
        /// otherwise per 2 MiB subsection.
        public var isEarly = false
        /// Biased: the struct page of pfn p is at memMap + p·sizeof(struct page).
        public var memMap: UInt64 = 0
        /// SPARSEMEM's `usage`: subsection map and pageblock flags.
        public var usage: UInt64 = 0
        /// One bit per 2 MiB subsection: which parts of a hot-plugged section are valid.
        public var subsectionMap: UInt64 = .max
        /// Biased: the slot of pfn p is at pageExt + p·page_ext_size; nil when the piece has
        /// no page_ext (NULL, or PAGE_EXT_INVALID set).
        public var pageExt: UInt64?
    }

    public let model: Model
    /// log2 of the pfns per piece (PFN_SECTION_SHIFT for SPARSEMEM).
    public let sectionShift: UInt64
    public var pagesPerSection: UInt64 { 1 << sectionShift }
    public let sections: [Section]
    /// SPARSEMEM: offset of `pageblock_flags` in struct mem_section_usage.
    let pageblockFlagsOffset: Int?
    /// FLATMEM: the zones, each with its own pageblock bitmap.
    let flatZones: [MemoryZone]
    /// FLATMEM's pfn_valid: pfn < max_mapnr (ARCH_PFN_OFFSET is 0 on x86_64).
    let validPFNEnd: UInt64
    /// pageblock_order, to index the pageblock bitmaps.
    let pageblockOrder: UInt64
    /// log2 of the pages in a 2 MiB subsection (SUBSECTION_SHIFT 21 − PAGE_SHIFT: 9 with 4K
    /// pages, 7 with 16K, 5 with 64K).
    let subsectionShift: UInt64
    static let maxSections = 1 << 22

    init(model: Model, sectionShift: UInt64, sections: [Section], pageblockOrder: UInt64,
         pageblockFlagsOffset: Int? = nil, flatZones: [MemoryZone] = [], validPFNEnd: UInt64 = .max,
         subsectionShift: UInt64 = 9) {
        self.model = model
        self.sectionShift = sectionShift
        self.subsectionShift = subsectionShift
        self.sections = sections
        self.pageblockOrder = pageblockOrder
        self.pageblockFlagsOffset = pageblockFlagsOffset
        self.flatZones = flatZones
        self.validPFNEnd = validPFNEnd
    }

    /// `pageSize` and `extSize` are sizeof(struct page) and page_ext_size, as the caller
    /// resolved them (extSize nil: the kernel keeps no page_ext).
    init(dump: KernelDump, maxPFN: UInt64, maxOrderPages: UInt64, pageblockOrder: UInt64,
         pageSize: UInt64, extSize: UInt64?) throws {
        let model = try Self.model(of: dump)
        if model == .flat {
            self = try Self.flat(dump: dump, maxPFN: maxPFN, maxOrderPages: maxOrderPages, pageblockOrder: pageblockOrder,
                                 pageSize: pageSize, extSize: extSize)
        } else {
            self = try Self.sparse(dump: dump, extreme: model == .sparseExtreme, maxPFN: maxPFN, pageblockOrder: pageblockOrder)
        }
    }

    /// SPARSEMEM_VMEMMAP: VMCOREINFO names `vmemmap` from 6.8; before, the x86_64 function
    /// that populates it exists only with it.
    public static func hasVmemmap(_ dump: KernelDump) -> Bool {
        dump.info.symbol("vmemmap") != nil || dump.symbols.address(of: "vmemmap_populate") != nil
    }

    /// SECTIONS_WIDTH of page->flags: SPARSEMEM without VMEMMAP keeps the section number there
    /// (page_to_pfn needs it), MAX_PHYSMEM_BITS − SECTION_SIZE_BITS wide.
    public static func sectionsWidth(_ dump: KernelDump) throws -> UInt64 {
        guard try model(of: dump) != .flat, !hasVmemmap(dump) else { return 0 }
        let physBits = dump.info.maxPhysmemBits ?? 46
        let sectionBits = dump.info.sectionSizeBits ?? 27
        guard sectionBits > 0, physBits > sectionBits, physBits <= 64 else {
            throw InputError(file: dump.vmcorePath, reason: "implausible MAX_PHYSMEM_BITS \(physBits) for SECTION_SIZE_BITS \(sectionBits)")
        }
        return physBits - sectionBits
    }

    /// SPARSEMEM when the kernel has `mem_section` (EXTREME when it is a pointer to root
    /// pages, not an array), FLATMEM otherwise.
    public static func model(of dump: KernelDump) throws -> Model {
        let types = dump.types
        guard types.hasVariable("mem_section") else { return .flat }
        if case .pointer = try types.variableType("mem_section").resolved { return .sparseExtreme }
        return .sparseStatic
    }

    @inline(__always)
    public func section(of pfn: UInt64) -> Section? {
        let nr = pfn >> sectionShift
        return nr < UInt64(sections.count) ? sections[Int(nr)] : nil
    }

    /// `pfn_valid`. SPARSEMEM: the section has a mem_map, and early sections count whole,
    /// others per 2 MiB subsection. FLATMEM: below max_mapnr, inside a node.
    public func isValid(_ pfn: UInt64) -> Bool {
        guard pfn < validPFNEnd, let s = section(of: pfn), s.hasMemMap else { return false }
        if s.isEarly { return true }
        let index = (pfn & (pagesPerSection - 1)) >> subsectionShift
        // Only the first 64 subsections' bits are kept (all a section has but with 64K pages
        // and 512 MiB sections, 256); a later one counts as valid, and a page read there that
        // is not mapped faults like any other.
        return index >= 64 || (s.subsectionMap >> index) & 1 != 0
    }

    /// Address of the struct page of `pfn`.
    @inline(__always)
    public func pageAddress(_ pfn: UInt64, pageSize: Int) -> UInt64? {
        guard let s = section(of: pfn), s.hasMemMap else { return nil }
        return s.memMap &+ pfn &* UInt64(pageSize)
    }

    /// The pageblock bitmap holding `pfn`'s block and the block's index in it: the section's
    /// usage map (SPARSEMEM), or the zone's bitmap indexed from the zone's first pfn rounded
    /// down to a pageblock (FLATMEM).
    func pageblockBitmap(_ pfn: UInt64) -> (address: UInt64, block: UInt64)? {
        if model == .flat {
            guard let zone = flatZones.first(where: { pfn >= $0.startPFN && pfn < $0.endPFN }),
                  let bitmap = zone.pageblockFlags, bitmap != 0 else { return nil }
            let first = zone.startPFN >> pageblockOrder
            return (bitmap, (pfn >> pageblockOrder) &- first)
        }
        guard let s = section(of: pfn), s.usage != 0, let offset = pageblockFlagsOffset else { return nil }
        return (s.usage &+ UInt64(offset), (pfn & (pagesPerSection - 1)) >> pageblockOrder)
    }
}
