import ELFCore

/// SPARSEMEM's `mem_section` table, read once: for each section whether it has a mem_map,
/// where its struct pages and its page_ext slots are, and its pageblock flags.
public struct SectionMap: Sendable {
    public struct Section: Sendable {
        /// SECTION_HAS_MEM_MAP: the section is present and has struct pages.
        public var hasMemMap = false
        /// SECTION_IS_EARLY: boot memory, valid for the whole section span.
        public var isEarly = false
        /// The decoded `section_mem_map`: struct page of pfn p is at memMap + p·sizeof(page).
        public var memMap: UInt64 = 0
        /// `usage`: subsection map and pageblock flags.
        public var usage: UInt64 = 0
        /// One bit per 2 MiB subsection: which parts of a hot-plugged section are valid.
        public var subsectionMap: UInt64 = .max
        /// The biased `page_ext` pointer: slot of pfn p is at pageExt + p·page_ext_size; nil when
        /// the section has no page_ext (NULL, or PAGE_EXT_INVALID set).
        public var pageExt: UInt64?
    }

    public let pageShift: UInt64 = 12
    public let sectionShift: UInt64          // PFN_SECTION_SHIFT
    public var pagesPerSection: UInt64 { 1 << sectionShift }
    public let sections: [Section]
    public let pageblockFlagsOffset: Int?
    static let subsectionShift: UInt64 = 9   // 2 MiB subsections of 4 KiB pages
    static let maxSections = 1 << 22

    init(dump: KernelDump, maxPFN: UInt64) throws {
        let types = dump.vmlinux.types
        let info = dump.info
        let memory = dump.memory
        let sectionBits = UInt64(info.number("SECTION_SIZE_BITS") ?? 27)
        guard sectionBits > 12, sectionBits < 40 else {
            throw InputError(file: dump.vmcorePath, reason: "implausible SECTION_SIZE_BITS \(sectionBits)")
        }
        sectionShift = sectionBits - 12
        let layout = try types.structType("mem_section", near: "mem_section")
        let mapField = try layout.field("section_mem_map")
        let usageField = layout.optionalField("usage")
        let pageExtField = layout.optionalField("page_ext")
        let usageLayout = try? types.structType("mem_section_usage", near: "mem_section")
        let subsectionOffset = usageLayout?.memberIfPresent("subsection_map")?.offset
        pageblockFlagsOffset = usageLayout?.memberIfPresent("pageblock_flags")?.offset

        let hasMemMapBit = UInt64(1) << UInt64(types.enumerator("SECTION_HAS_MEM_MAP_BIT", near: "mem_section") ?? 1)
        let isEarlyBit = UInt64(1) << UInt64(types.enumerator("SECTION_IS_EARLY_BIT", near: "mem_section") ?? 3)
        let lastBit = UInt64(types.enumerator("SECTION_MAP_LAST_BIT", near: "mem_section") ?? 6)
        let mapMask = ~((UInt64(1) << lastBit) &- 1)

        let count64 = (maxPFN &+ (1 << sectionShift) &- 1) >> sectionShift
        guard count64 <= UInt64(Self.maxSections) else {
            throw InputError(file: dump.vmcorePath, reason: "max_pfn \(maxPFN) implies \(count64) memory sections, more than vmowner allows")
        }
        let count = Int(count64)

        // Where section `nr` lives: EXTREME has a pointer per root page, otherwise a static array.
        let variable = try types.variableType("mem_section").resolved
        let isExtreme: Bool
        if case .pointer = variable { isExtreme = true } else { isExtreme = false }
        var base: UInt64
        if let fromInfo = info.symbol("mem_section") {
            base = fromInfo                      // SYMBOL_ARRAY: already the table's address
        } else {
            base = try dump.requireAddress(of: "mem_section")
            if isExtreme { base = try memory.u64(base) }
        }
        let perRoot: UInt64 = isExtreme ? 4096 / UInt64(max(layout.size, 1)) : 1
        let rootCount = info.length("mem_section") ?? UInt64.max

        var sections = [Section](repeating: Section(), count: count)
        var rootCache: (index: UInt64, address: UInt64) = (.max, 0)
        for nr in 0..<count {
            let root = UInt64(nr) / perRoot
            guard root < rootCount else { break }
            let address: UInt64
            if isExtreme {
                if rootCache.index != root {
                    rootCache = (root, (try? memory.u64(base &+ root &* 8)) ?? 0)
                }
                guard rootCache.address != 0 else { continue }
                address = rootCache.address &+ (UInt64(nr) % perRoot) &* UInt64(layout.size)
            } else {
                address = base &+ UInt64(nr) &* UInt64(layout.size)
            }
            guard let raw = try? memory.bytes(address, count: layout.size) else { continue }
            raw.withUnsafeBytes { p in
                let map = mapField.unsigned(p.baseAddress!)
                var s = Section()
                s.hasMemMap = map & hasMemMapBit != 0
                s.isEarly = map & isEarlyBit != 0
                s.memMap = map & mapMask
                s.usage = usageField?.unsigned(p.baseAddress!) ?? 0
                if let pageExtField {
                    let value = pageExtField.unsigned(p.baseAddress!)
                    s.pageExt = (value == 0 || value & 1 != 0) ? nil : value
                }
                sections[nr] = s
            }
            if sections[nr].hasMemMap, !sections[nr].isEarly, sections[nr].usage != 0, let subsectionOffset {
                sections[nr].subsectionMap = (try? memory.u64(sections[nr].usage &+ UInt64(subsectionOffset))) ?? .max
            }
        }
        self.sections = sections
    }

    @inline(__always)
    public func section(of pfn: UInt64) -> Section? {
        let nr = pfn >> sectionShift
        return nr < UInt64(sections.count) ? sections[Int(nr)] : nil
    }

    /// `pfn_valid` for SPARSEMEM: the section has a mem_map, and early sections count whole,
    /// others per 2 MiB subsection.
    public func isValid(_ pfn: UInt64) -> Bool {
        guard let s = section(of: pfn), s.hasMemMap else { return false }
        if s.isEarly { return true }
        let index = (pfn & (pagesPerSection - 1)) >> Self.subsectionShift
        return index >= 64 || (s.subsectionMap >> index) & 1 != 0
    }

    /// Address of the struct page of `pfn` (vmemmap or the section's mem_map).
    @inline(__always)
    public func pageAddress(_ pfn: UInt64, pageSize: Int) -> UInt64? {
        guard let s = section(of: pfn), s.hasMemMap else { return nil }
        return s.memMap &+ pfn &* UInt64(pageSize)
    }
}
