import ELFCore

extension MemoryMap {
    /// FLATMEM: every node keeps one struct page array for its span (`node_mem_map`, the page
    /// of node_start_pfn) and one page_ext array (`node_page_ext`, the slot of node_start_pfn
    /// rounded down to MAX_ORDER_NR_PAGES, as lookup_page_ext indexes it); pfn_valid is
    /// pfn < max_mapnr. The arrays are cut into MAX_ORDER_NR_PAGES pieces, each read through
    /// the first node (by start pfn) that spans part of it; the node's arrays begin at its
    /// MAX_ORDER-aligned start, so a partly spanned piece is inside them.
    static func flat(dump: KernelDump, maxPFN: UInt64, maxOrderPages: UInt64, pageblockOrder: UInt64,
                     pageSize: UInt64, extSize: UInt64?) throws -> MemoryMap {
        let memory = dump.memory
        let nodes = try NodeZones(dump: dump).nodes
        guard nodes.contains(where: { $0.memMap != nil }) else {
            throw InputError(file: dump.kernelFile, reason: "the kernel has neither mem_section (SPARSEMEM) nor pglist_data.node_mem_map (FLATMEM): cannot find its struct pages")
        }
        if let node = nodes.first(where: { $0.spannedPages > 0 && $0.memMap == 0 }) {
            throw InputError(file: dump.vmcorePath, reason: "FLATMEM node \(node.id) spans \(node.spannedPages) pages but its node_mem_map is NULL")
        }
        let validEnd = try dump.address(of: "max_mapnr").map { try memory.u64($0) } ?? maxPFN
        let shift = UInt64(maxOrderPages.trailingZeroBitCount)
        let count64 = (min(validEnd, maxPFN) &+ maxOrderPages &- 1) >> shift
        guard count64 <= UInt64(maxSections) else {
            throw InputError(file: dump.vmcorePath, reason: "max_mapnr \(validEnd) implies \(count64) memory map pieces, more than vmowner allows")
        }

        var sections = [Section](repeating: Section(), count: Int(count64))
        // Spans are clipped to start where the previous node's ended, so overlapping (corrupt)
        // nodes cost no more than the pieces themselves.
        var nextPiece: UInt64 = 0
        for node in nodes.sorted(by: { $0.startPFN < $1.startPFN }) {
            guard let memMap = node.memMap, memMap != 0, node.spannedPages > 0 else { continue }
            let (end, overflow) = node.startPFN.addingReportingOverflow(node.spannedPages)
            let first = max(nextPiece, node.startPFN >> shift)
            let last = min(count64, overflow ? count64 : ((end &- 1) >> shift) &+ 1)
            guard first < last else { continue }
            var piece = Section()
            piece.hasMemMap = true
            piece.isEarly = true
            piece.memMap = memMap &- node.startPFN &* pageSize
            if let ext = node.pageExt, ext != 0, let extSize {
                piece.pageExt = ext &- (node.startPFN & ~(maxOrderPages &- 1)) &* extSize
            }
            for i in first..<last { sections[Int(i)] = piece }
            nextPiece = last
        }
        return MemoryMap(model: .flat, sectionShift: shift, sections: sections, pageblockOrder: pageblockOrder,
                         flatZones: nodes.flatMap(\.zones), validPFNEnd: validEnd)
    }
}
