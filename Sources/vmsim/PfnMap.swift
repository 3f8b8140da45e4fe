/// The state of every pfn, from which struct pages and page_ext slots are generated:
/// what the page is (reserved, free in the buddy allocator, allocated) and which owner block
/// its page_ext slot carries.
final class PfnMap {
    enum Kind: UInt8 {
        case reserved = 0     // memblock, holes, the kernel image
        case free = 1         // inside a free buddy block (not the head)
        case untracked = 2    // allocated, never stamped by page_owner
        case allocated = 3    // allocated block (owner in page_ext)
        case buddyHead = 0x80 // | order
    }

    let maxPfn: UInt64
    private(set) var kind: [UInt8]
    /// Owner block index for the pfn's page_ext slot, -1 when the slot is empty.
    private(set) var owner: [Int32]
    /// Buddy blocks (head pfn, order) in pfn order.
    private(set) var buddies: [(UInt64, Int)] = []

    init(layout: MachineLayout, reserved: [(start: UInt64, end: UInt64)], untracked: [(UInt64, UInt64)],
         blocks: [OwnerBlock]) {
        // Cover whole sections so that memmap generation never reads past the arrays.
        let sections = layout.presentSections
        let limit = ((sections.last ?? 0) + 1) * MachineLayout.pagesPerSection
        maxPfn = layout.maxPfn
        kind = [UInt8](repeating: Kind.reserved.rawValue, count: Int(limit))
        owner = [Int32](repeating: -1, count: Int(limit))
        // RAM starts free; reserved ranges, untracked and allocated pages are cut out of it.
        let ps = MachineLayout.pageSize
        for r in layout.ram {
            let a = (r.start + ps - 1) / ps, b = r.end / ps
            for p in a..<b { kind[Int(p)] = Kind.free.rawValue }
        }
        for r in reserved {
            for p in (r.start / ps)..<((r.end + ps - 1) / ps) where Int(p) < kind.count { kind[Int(p)] = Kind.reserved.rawValue }
        }
        for (a, b) in untracked { for p in a..<b { kind[Int(p)] = Kind.untracked.rawValue } }
        for (i, blk) in blocks.enumerated() {
            let n = UInt64(1) << UInt64(blk.order)
            for p in blk.pfn..<(blk.pfn + n) {
                owner[Int(p)] = Int32(i)
                if blk.allocated { kind[Int(p)] = Kind.allocated.rawValue }
            }
        }
        // Free runs become maximal aligned buddy blocks of order <= MAX_PAGE_ORDER.
        var p: UInt64 = 0
        let end = UInt64(kind.count)
        while p < end {
            guard kind[Int(p)] == Kind.free.rawValue else { p += 1; continue }
            var q = p
            while q < end && kind[Int(q)] == Kind.free.rawValue { q += 1 }
            var a = p
            while a < q {
                var order = Int(MachineLayout.maxOrder)
                while order > 0 && (a & ((1 << UInt64(order)) - 1) != 0 || a + (1 << UInt64(order)) > q) { order -= 1 }
                kind[Int(a)] = Kind.buddyHead.rawValue | UInt8(order)
                buddies.append((a, order))
                a += 1 << UInt64(order)
            }
            p = q
        }
    }

    /// struct page bytes for pfns [first, first + count) into `buf` (count * 64 bytes);
    /// `memmapBase` is where pfn 0's struct page is (vmemmap, or FLATMEM's mem_map).
    func fillStructPages(first: UInt64, count: Int, buf: UnsafeMutableRawBufferPointer,
                         blocks: [OwnerBlock], memcgData: (MemcgCharge) -> UInt64, memmapBase: UInt64,
                         profile: KernelProfile) {
        let flagLayout = profile.oldPageFlags ? PageFlagLayout.old : PageFlagLayout.new
        // PageBuddy: PGTY_buddy in the top byte (6.12+), else PG_buddy (0x80) cleared in -1.
        let buddyType: UInt32 = profile.pageTypeTopByte ? 0xf000_0000 : 0xffff_ff7f
        let base = buf.baseAddress!
        func put64(_ off: Int, _ v: UInt64) { base.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt64.self) }
        func put32(_ off: Int, _ v: UInt32) { base.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt32.self) }
        for i in 0..<count {
            let pfn = first + UInt64(i)
            let o = i * 64
            var flags = PageFlag.fields(ofPfn: pfn)  // node 0 where there are nodes
            var mapcount: UInt32 = 0xffff_ffff
            var refcount: UInt32 = 0
            let k = kind[Int(pfn)]
            if k & 0x80 != 0 {
                mapcount = buddyType
                put64(o + 40, UInt64(k & 0x7f)) // private = order
                let me = memmapBase &+ pfn &* 64 &+ 8
                put64(o + 8, me); put64(o + 16, me)
            } else if k == Kind.reserved.rawValue {
                flags |= PageFlag.reserved
                refcount = 1
            } else if k == Kind.untracked.rawValue {
                refcount = 1
            } else if k == Kind.allocated.rawValue {
                let b = blocks[Int(owner[Int(pfn)])]
                if pfn == b.pfn {
                    flags |= flagLayout.translate(b.pageFlags, slab: b.isSlab)
                    refcount = 1
                    if b.isSlab && profile.pageTypeTopByte { mapcount = 0xf500_0000 }  // PGTY_slab
                    put64(o + 56, memcgData(b.memcg))
                } else if b.compound {
                    put64(o + 8, (memmapBase &+ b.pfn &* 64) | 1) // compound_head
                    if pfn == b.pfn + 1 && !profile.oldPageFlags { flags |= UInt64(b.order) } // folio order in _flags_1
                }
            }
            put64(o, flags)
            put32(o + 48, mapcount)
            put32(o + 52, refcount)
        }
    }

    /// page_ext slots (flags + struct page_owner, `slot.size` bytes) for pfns [first, first + count).
    func fillPageExt(first: UInt64, count: Int, buf: UnsafeMutableRawBufferPointer,
                     blocks: [OwnerBlock], tasks: [SimTask], slot: PageExtSlot) {
        let base = buf.baseAddress!
        var comms: [[UInt8]] = tasks.map { Array($0.comm.utf8.prefix(15)) }
        comms.append([])
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int?, _ o: Int) {
            if let at { base.storeBytes(of: v.littleEndian, toByteOffset: o + 8 + at, as: T.self) }
        }
        for i in 0..<count {
            let idx = owner[Int(first + UInt64(i))]
            guard idx >= 0 else { continue }
            let b = blocks[Int(idx)]
            let o = i * slot.size
            base.storeBytes(of: (UInt64(b.allocated ? 3 : 1) | (b.swappedIn ? 4 : 0)).littleEndian, toByteOffset: o, as: UInt64.self)
            put(UInt16(b.order), slot.order, o)
            put(b.migrateReason, slot.lastMigrateReason, o)
            put(b.gfp, slot.gfpMask, o)
            put(b.handle, slot.handle, o)
            put(b.freeHandle, slot.freeHandle, o)
            put(b.ts, slot.ts, o)
            put(b.freeTs, slot.freeTs, o)
            if let c = slot.comm {
                for (j, ch) in comms[Int(b.task)].enumerated() { base.storeBytes(of: ch, toByteOffset: o + 8 + c + j, as: UInt8.self) }
            }
            let t = tasks[Int(b.task)]
            put(t.pid, slot.pid, o)
            put(t.tgid, slot.tgid, o)
            if b.freeTask >= 0 {
                let f = tasks[Int(b.freeTask)]
                put(f.pid, slot.freePid, o)
                put(f.tgid, slot.freeTgid, o)
            }
        }
    }
}

/// Where struct page_owner's members sit for the profile (offsets within page_owner, nil when
/// the generation has no such member), measured by the layout probe.
struct PageExtSlot {
    let size: Int
    let order, lastMigrateReason, gfpMask, handle, freeHandle: Int?
    let ts, freeTs, comm, pid, tgid, freePid, freeTgid: Int?

    init(layouts: Layouts, profile: KernelProfile) {
        let present = Set(PageOwnerFields.present(profile))
        func at(_ f: String) -> Int? { present.contains(f) ? Int(layouts.offset("page_owner", f)) : nil }
        size = Int(profile.pageExtSize)
        order = at("order"); lastMigrateReason = at("last_migrate_reason"); gfpMask = at("gfp_mask")
        handle = at("handle"); freeHandle = at("free_handle"); ts = at("ts_nsec"); freeTs = at("free_ts_nsec")
        comm = at("comm"); pid = at("pid"); tgid = at("tgid"); freePid = at("free_pid"); freeTgid = at("free_tgid")
    }
}
