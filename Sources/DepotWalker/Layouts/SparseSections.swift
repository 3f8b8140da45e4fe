import ELFCore

extension MemoryMap {
    /// SPARSEMEM's `mem_section` table: with EXTREME a pointer to root pages of sections,
    /// without it a static array (told apart by the variable's DWARF type).
    static func sparse(dump: KernelDump, extreme isExtreme: Bool, maxPFN: UInt64, pageblockOrder: UInt64) throws -> MemoryMap {
        let types = dump.types
        let info = dump.info
        let memory = dump.memory
        // SECTION_SIZE_BITS is 13...40 where VMCOREINFO is read; 27 on x86_64 without it. A
        // section holds at least a 2 MiB subsection.
        let sectionBits = info.sectionSizeBits ?? 27
        guard sectionBits >= 21 else {
            throw InputError(file: dump.vmcorePath, reason: "VMCOREINFO NUMBER(SECTION_SIZE_BITS)=\(sectionBits) is smaller than a 2 MiB subsection")
        }
        let sectionShift = sectionBits - dump.pageShift
        // SECTIONS_PER_ROOT is PAGE_SIZE / sizeof(struct mem_section): at most a page, and the
        // section words read below lie inside the struct (checked by Field).
        let layout = try types.structType("mem_section", near: "mem_section")
        guard layout.size <= 4096, UInt64(layout.size) <= dump.pageSize else {
            throw InputError(file: dump.kernelFile, reason: "struct mem_section is \(layout.size) bytes in the \(dump.types.origin); a kernel's fits in a page")
        }
        let mapField = try layout.field("section_mem_map")
        let usageField = try layout.optionalField("usage")
        let pageExtField = try layout.optionalField("page_ext")
        let usageLayout = try? types.structType("mem_section_usage", near: "mem_section")
        let subsectionOffset = try usageLayout?.memberIfPresent("subsection_map")?.offset

        let hasMemMapBit = UInt64(1) << (try types.bitNumber("SECTION_HAS_MEM_MAP_BIT", near: "mem_section") ?? 1)
        let isEarlyBit = UInt64(1) << (try types.bitNumber("SECTION_IS_EARLY_BIT", near: "mem_section") ?? 3)
        let lastBit = try types.bitNumber("SECTION_MAP_LAST_BIT", near: "mem_section") ?? 6
        let mapMask = ~((UInt64(1) << lastBit) &- 1)

        let count64 = (maxPFN &+ (1 << sectionShift) &- 1) >> sectionShift
        guard count64 <= UInt64(maxSections) else {
            throw InputError(file: dump.vmcorePath, reason: "max_pfn \(maxPFN) implies \(count64) memory sections, more than vmowner allows")
        }
        let count = Int(count64)

        // Where section `nr` lives: EXTREME has a pointer per root page, otherwise a static array.
        var base: UInt64
        if let fromInfo = info.symbol("mem_section") {
            base = fromInfo                      // SYMBOL_ARRAY: already the table's address
        } else {
            base = try dump.requireAddress(of: "mem_section")
            if isExtreme { base = try memory.u64(base) }
        }
        let perRoot: UInt64 = isExtreme ? dump.pageSize / UInt64(layout.size) : 1
        let rootCount = info.memSectionRoots ?? UInt64.max

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
        return MemoryMap(model: isExtreme ? .sparseExtreme : .sparseStatic, sectionShift: sectionShift, sections: sections,
                         pageblockOrder: pageblockOrder,
                         pageblockFlagsOffset: try usageLayout?.memberIfPresent("pageblock_flags")?.offset,
                         subsectionShift: 21 - dump.pageShift)
    }
}
