import ELFCore

/// Walks the pageblocks of a zone the way mm/vmstat.c and mm/page_owner.c do for
/// /proc/pagetypeinfo (same in 6.1 and 6.12):
/// - block counts: every pageblock_nr_pages from zone_start_pfn, online, of this zone;
/// - mixed blocks: pfn by pfn inside each block, skipping free buddy runs, reserved pages and
///   pages page_owner does not mark allocated, stepping over each allocation by its order, and
///   stopping at the first allocation of another migratetype.
/// pfn_to_online_page is pfn_valid here: the online bit only matters with memory hotplug.
struct BlockScanner {
    let model: KernelModel
    /// page_owner's part, for the mixed-block scan (nil: the kernel ran without page_owner).
    let owner: PageOwnerContext?
    let types: MigrateTypes
    let reservedBit: UInt64
    let zoneField: (shift: UInt64, mask: UInt64)
    let nodeField: (shift: UInt64, mask: UInt64)
    /// Pfns the sections cover: a corrupt zone span cannot make the scan run past them.
    let pfnLimit: UInt64
    var unreadable = 0
    var unknownType = 0
    private var pageCursor = SpanCursor()
    private var extCursor = SpanCursor()
    /// A struct page, then a page_ext slot, when the dump does not hold them plainly: sized
    /// by the validated sizeof(struct page) and page_ext_size.
    private let scratch: UnsafeMutableRawPointer

    init(model: KernelModel) throws {
        self.model = model
        owner = model as? PageOwnerContext
        let dump = model.dump
        types = try MigrateTypes(dump: dump, names: try model.migrateTypeNames, gfpNames: try? model.names.gfp)
        guard let reserved = try dump.types.bitNumber("PG_reserved", near: "pageflag_names") else {
            throw InputError(file: dump.kernelFile, reason: "enum pageflags has no PG_reserved in the \(dump.types.origin)")
        }
        reservedBit = UInt64(1) << reserved
        let layout = try model.pageFlags.layout
        func field(_ name: String) -> (UInt64, UInt64) {
            guard let f = layout.first(where: { $0.name == name }) else { return (0, 0) }
            return (f.shift, (UInt64(1) << f.width) &- 1)
        }
        zoneField = field("zone")
        nodeField = field("node")
        pfnLimit = UInt64(model.sections.sections.count) << model.sections.sectionShift
        scratch = UnsafeMutableRawPointer.allocate(byteCount: model.page.size + Int(owner?.extSize ?? 0), alignment: 16)
    }

    mutating func release() {
        pageCursor.close()
        extCursor.close()
        scratch.deallocate()
    }

    var blockPages: UInt64 { UInt64(1) << model.pageblockOrder }

    /// pagetypeinfo_showblockcount_print.
    mutating func blockCounts(_ zone: MemoryZone) -> [UInt64] {
        var count = [UInt64](repeating: 0, count: types.names.count)
        let end = min(zone.endPFN, pfnLimit)
        var pfn = zone.startPFN
        while pfn < end {
            defer { pfn = pfn &+ blockPages }
            guard model.sections.isValid(pfn), let page = page(pfn), inZone(page, zone),
                  let mt = model.pageblockMigratetype(pfn) else { continue }
            if mt < count.count { count[mt] += 1 }
        }
        return count
    }

    /// pagetypeinfo_showmixedcount_print, plus what each block holds when `keepBlocks`.
    mutating func mixedBlocks(_ zone: MemoryZone, owner c: PageOwnerContext, keepBlocks: Bool) -> ([UInt64], [Pageblock]) {
        var count = [UInt64](repeating: 0, count: types.names.count)
        var blocks: [Pageblock] = []
        let end = min(zone.endPFN, pfnLimit)
        let chunk = c.maxOrderPages
        var pfn = zone.startPFN
        while pfn < end {
            guard c.sections.isValid(pfn) else {
                pfn = ((pfn &+ 1) &+ chunk &- 1) & ~(chunk &- 1)     // ALIGN(pfn + 1, MAX_ORDER_NR_PAGES)
                continue
            }
            let blockEnd = min(((pfn &+ 1) &+ blockPages &- 1) & ~(blockPages &- 1), end)
            guard let blockType = c.pageblockMigratetype(pfn) else {
                unreadable += 1
                pfn = blockEnd
                continue
            }
            let block = scanBlock(from: pfn, to: blockEnd, type: blockType, zone: zone, owner: c)
            if block.isMixed {
                let column = blockType == types.cma ? types.movable : blockType
                if column < count.count { count[column] += 1 } else { unknownType += 1 }
            }
            if keepBlocks { blocks.append(block.info) }
            // The kernel leaves a mixed block at its end; otherwise where the last step landed.
            pfn = block.isMixed ? blockEnd : block.next
        }
        return (count, blocks)
    }

    private struct Scan {
        var info: Pageblock
        var next: UInt64
        var isMixed: Bool { info.isMixed }
    }

    /// One block, pfn by pfn. Keeps counting after the first mismatch (for --blocks) but
    /// remembers it: the kernel's decision and its next pfn depend on that one only.
    private mutating func scanBlock(from start: UInt64, to blockEnd: UInt64, type blockType: Int, zone: MemoryZone,
                                    owner c: PageOwnerContext) -> Scan {
        var allocated = [UInt64](repeating: 0, count: types.names.count)
        var free: UInt64 = 0, reserved: UInt64 = 0
        var mismatch: UInt64?
        var pfn = start
        while pfn < blockEnd {
            guard let page = page(pfn) else { pfn += 1; continue }
            guard inZone(page, zone) else { pfn += 1; continue }
            let pageType = UInt32(truncatingIfNeeded: c.page.pageType.unsigned(page))
            if c.buddy.isBuddy(pageType: pageType) {
                let order = c.page.privateData.unsigned(page)
                let run: UInt64 = order <= c.maxBuddyOrder ? 1 << order : 1
                free &+= min(run, blockEnd - pfn)
                pfn = pfn &+ run
                continue
            }
            if c.page.flags.unsigned(page) & reservedBit != 0 {
                reserved += 1
                pfn += 1
                continue
            }
            guard let ext = ext(pfn, owner: c) else { pfn += 1; continue }
            guard ext.loadUnaligned(as: UInt64.self) & c.allocatedFlag != 0 else { pfn += 1; continue }
            // ownerOffset + owner.size <= extSize (PageOwnerContext.init): inside the slot.
            let owner = ext + Int(c.ownerOffset)
            let gfp = c.owner.gfpMask.unsigned(owner)
            let order = c.owner.order.unsigned(owner)
            let pageMT = types.of(gfp: gfp)
            // `pfn += (1 << order) - 1`, then the loop's `pfn++`; an absurd order ends the block.
            let run: UInt64 = order < 40 ? 1 << order : blockEnd - pfn
            if pageMT < allocated.count { allocated[pageMT] &+= min(run, blockEnd - pfn) }
            if pageMT != blockType, mismatch == nil { mismatch = pfn }
            pfn = pfn &+ run
        }
        let info = Pageblock(node: zone.node, zoneIndex: zone.index, startPFN: start, endPFN: blockEnd, migratetype: blockType,
                             firstMismatchPFN: mismatch, allocatedPages: allocated, freePages: free, reservedPages: reserved)
        return Scan(info: info, next: pfn)
    }

    /// page_zone(page) == zone: the node and zone numbers in page->flags.
    @inline(__always)
    private func inZone(_ page: UnsafeRawPointer, _ zone: MemoryZone) -> Bool {
        let flags = model.page.flags.unsigned(page)
        let z = Int((flags >> zoneField.shift) & zoneField.mask)
        let n = Int((flags >> nodeField.shift) & nodeField.mask)
        return z == zone.index && n == zone.node
    }

    /// The struct page of `pfn`, or nil when its section has none or it cannot be read.
    private mutating func page(_ pfn: UInt64) -> UnsafeRawPointer? {
        let size = model.page.size
        guard let va = model.sections.pageAddress(pfn, pageSize: size) else { return nil }
        guard let p = pageCursor.pointer(model.dump.memory, va, size, scratch: scratch) else {
            unreadable += 1
            return nil
        }
        return p
    }

    /// The page_ext slot of `pfn` (after the struct page in scratch), nil when there is none.
    private mutating func ext(_ pfn: UInt64, owner: PageOwnerContext) -> UnsafeRawPointer? {
        guard let section = model.sections.section(of: pfn), let base = section.pageExt else { return nil }
        let size = Int(owner.extSize)
        guard let p = extCursor.pointer(model.dump.memory, base &+ pfn &* UInt64(size), size, scratch: scratch + model.page.size) else {
            unreadable += 1
            return nil
        }
        return p
    }
}
