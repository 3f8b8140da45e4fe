/// expected/pagetypeinfo_pageblocks.txt: the pageblock part of /proc/pagetypeinfo (mm/vmstat.c
/// pagetypeinfo_show without its free-page table, which `vmowner fragmentation` leaves out):
/// block order and size, "Number of blocks type" and, page_owner being on, "Number of mixed
/// blocks". Computed from the simulator's model: the migratetype the allocator gave each
/// pageblock (Movable for other blocks with RAM, as memmap_init leaves them) and the
/// owner blocks still allocated, whose gfp masks say which migratetype they asked for.
struct ExpectedPageblocks {
    let sim: Simulator

    static var pageblockOrder: UInt64 { MachineLayout.pageblockOrder }


    /// The pageblocks holding an allocated page of another migratetype than their own: the
    /// kernel counts each such block once, under the block's type (CMA under Movable).
    func mixedPageblocks() -> Set<UInt64> {
        var mixed = Set<UInt64>()
        for b in sim.workload.blocks where b.allocated {
            let pageblock = b.pfn >> Self.pageblockOrder
            if GFP.migratetype(b.gfp) != sim.pageblockType(pageblock) { mixed.insert(pageblock) }
        }
        return mixed
    }

    func text() -> String {
        let names = KernelFormat.migratetypeNames
        let mixed = mixedPageblocks()
        let blockPages = UInt64(1) << Self.pageblockOrder
        var blockRows: [(String, [UInt64])] = [], mixedRows: [(String, [UInt64])] = []
        for (index, zone) in sim.zoneSpans.enumerated() where zone.presentPages > 0 {
            var blocks = [UInt64](repeating: 0, count: names.count), mixedCount = blocks
            // Every pageblock the zone's span touches, with a valid first pfn, of this zone.
            var pageblock = zone.startPfn >> Self.pageblockOrder
            while pageblock << Self.pageblockOrder < zone.endPfn {
                defer { pageblock += 1 }
                let first = max(pageblock << Self.pageblockOrder, zone.startPfn)
                guard sim.isValidPfn(first), MachineLayout.zone(ofPfn: first) == UInt64(index) else { continue }
                let type = sim.pageblockType(pageblock)
                blocks[type] += 1
                if mixed.contains(pageblock) { mixedCount[type == 4 ? 1 : type] += 1 }
            }
            blockRows.append((zone.name, blocks))
            mixedRows.append((zone.name, mixedCount))
        }
        var out = "Page block order: \(Self.pageblockOrder)\nPages per block:  \(blockPages)\n"
        out += table("Number of blocks type ", names, blockRows)
        // The kernel prints the mixed table only when page_owner is on.
        if sim.pageOwner { out += table("Number of mixed blocks ", names, mixedRows) }
        return out
    }

    /// `\n%-23s`, `%12s ` per migratetype; rows `Node %d, zone %8s ` then `%12lu ` per count.
    private func table(_ title: String, _ names: [String], _ rows: [(String, [UInt64])]) -> String {
        var out = "\n" + title.padding(toLength: max(23, title.count), withPad: " ", startingAt: 0)
        for name in names { out += rightAligned(name, 12) + " " }
        out += "\n"
        for (zone, counts) in rows {
            out += "Node 0, zone " + rightAligned(zone, 8) + " "
            for n in counts { out += rightAligned(String(n), 12) + " " }
            out += "\n"
        }
        return out
    }

    private func rightAligned(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
