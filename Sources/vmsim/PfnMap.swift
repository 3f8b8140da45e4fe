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
        for r in layout.ram {
            let a = (r.start + 4095) / 4096, b = r.end / 4096
            for p in a..<b { kind[Int(p)] = Kind.free.rawValue }
        }
        for r in reserved {
            for p in (r.start / 4096)..<((r.end + 4095) / 4096) where Int(p) < kind.count { kind[Int(p)] = Kind.reserved.rawValue }
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
                var order = 10
                while order > 0 && (a & ((1 << UInt64(order)) - 1) != 0 || a + (1 << UInt64(order)) > q) { order -= 1 }
                kind[Int(a)] = Kind.buddyHead.rawValue | UInt8(order)
                buddies.append((a, order))
                a += 1 << UInt64(order)
            }
            p = q
        }
    }

    /// struct page bytes for pfns [first, first + count) into `buf` (count * 64 bytes).
    func fillStructPages(first: UInt64, count: Int, buf: UnsafeMutableRawBufferPointer,
                         blocks: [OwnerBlock], memcgData: (MemcgCharge) -> UInt64, vmemmapBase: UInt64) {
        let base = buf.baseAddress!
        func put64(_ off: Int, _ v: UInt64) { base.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt64.self) }
        func put32(_ off: Int, _ v: UInt32) { base.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt32.self) }
        for i in 0..<count {
            let pfn = first + UInt64(i)
            let o = i * 64
            var flags = MachineLayout.zone(ofPfn: pfn) << PageFlag.zonesShift  // node 0
            var mapcount: UInt32 = 0xffff_ffff
            var refcount: UInt32 = 0
            let k = kind[Int(pfn)]
            if k & 0x80 != 0 {
                mapcount = 0xf000_0000          // PGTY_buddy
                put64(o + 40, UInt64(k & 0x7f)) // private = order
                let me = vmemmapBase &+ pfn &* 64 &+ 8
                put64(o + 8, me); put64(o + 16, me)
            } else if k == Kind.reserved.rawValue {
                flags |= PageFlag.reserved
                refcount = 1
            } else if k == Kind.untracked.rawValue {
                refcount = 1
            } else if k == Kind.allocated.rawValue {
                let b = blocks[Int(owner[Int(pfn)])]
                if pfn == b.pfn {
                    flags |= b.pageFlags
                    refcount = 1
                    if b.isSlab { mapcount = 0xf500_0000 }  // PGTY_slab
                    put64(o + 56, memcgData(b.memcg))
                } else if b.compound {
                    put64(o + 8, (vmemmapBase &+ b.pfn &* 64) | 1) // compound_head
                    if pfn == b.pfn + 1 { flags |= UInt64(b.order) } // folio order in _flags_1
                }
            }
            put64(o, flags)
            put32(o + 48, mapcount)
            put32(o + 52, refcount)
        }
    }

    /// page_ext slots (72 bytes: flags + struct page_owner) for pfns [first, first + count).
    func fillPageExt(first: UInt64, count: Int, buf: UnsafeMutableRawBufferPointer,
                     blocks: [OwnerBlock], tasks: [SimTask]) {
        let base = buf.baseAddress!
        var comms: [[UInt8]] = tasks.map { Array($0.comm.utf8.prefix(15)) }
        comms.append([])
        for i in 0..<count {
            let idx = owner[Int(first + UInt64(i))]
            guard idx >= 0 else { continue }
            let b = blocks[Int(idx)]
            let o = i * 72
            base.storeBytes(of: UInt64(b.allocated ? 3 : 1).littleEndian, toByteOffset: o, as: UInt64.self)
            let p = o + 8
            base.storeBytes(of: UInt16(b.order).littleEndian, toByteOffset: p, as: UInt16.self)
            base.storeBytes(of: b.migrateReason.littleEndian, toByteOffset: p + 2, as: Int16.self)
            base.storeBytes(of: b.gfp.littleEndian, toByteOffset: p + 4, as: UInt32.self)
            base.storeBytes(of: b.handle.littleEndian, toByteOffset: p + 8, as: UInt32.self)
            base.storeBytes(of: b.freeHandle.littleEndian, toByteOffset: p + 12, as: UInt32.self)
            base.storeBytes(of: b.ts.littleEndian, toByteOffset: p + 16, as: UInt64.self)
            base.storeBytes(of: b.freeTs.littleEndian, toByteOffset: p + 24, as: UInt64.self)
            let comm = comms[Int(b.task)]
            for (j, c) in comm.enumerated() { base.storeBytes(of: c, toByteOffset: p + 32 + j, as: UInt8.self) }
            let t = tasks[Int(b.task)]
            base.storeBytes(of: t.pid.littleEndian, toByteOffset: p + 48, as: Int32.self)
            base.storeBytes(of: t.tgid.littleEndian, toByteOffset: p + 52, as: Int32.self)
            if b.freeTask >= 0 {
                let f = tasks[Int(b.freeTask)]
                base.storeBytes(of: f.pid.littleEndian, toByteOffset: p + 56, as: Int32.self)
                base.storeBytes(of: f.tgid.littleEndian, toByteOffset: p + 60, as: Int32.self)
            }
        }
    }
}
