/// A simple model of the buddy allocator's placement: each migratetype fills whole pageblocks
/// (512 pages) from its own cursor, taking the next free pageblock when the current one is
/// full; orders >= pageblock_order take whole aligned pageblocks. It records each pageblock's
/// migratetype for mem_section_usage.pageblock_flags.
final class PageAllocator {
    struct Piece { let start: UInt64; let end: UInt64 }   // usable pfns of one pageblock

    private var queue: [Piece] = []          // free pageblocks, ascending
    private var taken: [Bool] = []
    private var head = 0
    private var largeHint = 0
    private var cursors: [Int: (next: UInt64, end: UInt64)] = [:]
    /// Migratetype of every pageblock that was handed out (pageblock number -> type).
    private(set) var pageblockType: [UInt64: Int] = [:]
    /// Every pfn range handed out (for the free-space computation).
    private(set) var used: [(UInt64, UInt64)] = []

    /// pageblock_order (9 with 4K pages).
    private let blockOrder = MachineLayout.pageblockOrder
    private var blockPages: UInt64 { 1 << blockOrder }

    init(freeRanges: [(UInt64, UInt64)]) {
        let o = blockOrder
        for (s, e) in freeRanges {
            var pb = s >> o
            while pb << o < e {
                let a = max(s, pb << o), b = min(e, (pb + 1) << o)
                if a < b { queue.append(Piece(start: a, end: b)); taken.append(false) }
                pb += 1
            }
        }
    }

    var freePageblocks: Int { taken[head...].filter { !$0 }.count }

    /// Allocates 2^order pages for `migratetype`; nil when memory is exhausted.
    func allocate(order: Int, migratetype: Int) -> UInt64? {
        let n = UInt64(1) << UInt64(order)
        if UInt64(order) >= blockOrder {
            let blocks = Int(n >> blockOrder)
            var i = max(head, largeHint)
            while i + blocks <= queue.count {
                let first = queue[i]
                var ok = !taken[i] && (first.start & (n - 1)) == 0
                if ok {
                    for k in 0..<blocks {
                        let p = queue[i + k]
                        if taken[i + k] || p.start != first.start + UInt64(k) * blockPages || p.end != p.start + blockPages { ok = false; break }
                    }
                }
                if ok {
                    for k in 0..<blocks { taken[i + k] = true }
                    largeHint = i + blocks
                    for k in 0..<UInt64(blocks) { pageblockType[(first.start >> blockOrder) + k] = migratetype }
                    used.append((first.start, first.start + n))
                    return first.start
                }
                i += 1
            }
            return nil
        }
        for _ in 0..<4 {
            if let c = cursors[migratetype] {
                let pfn = (c.next + n - 1) & ~(n - 1)
                if pfn + n <= c.end {
                    cursors[migratetype] = (pfn + n, c.end)
                    used.append((pfn, pfn + n))
                    return pfn
                }
            }
            while head < queue.count && taken[head] { head += 1 }
            guard head < queue.count else { return nil }
            let p = queue[head]
            taken[head] = true
            head += 1
            pageblockType[p.start >> blockOrder] = migratetype
            cursors[migratetype] = (p.start, p.end)
        }
        return nil
    }

    /// Leaves `pages` free in the current pageblock of `migratetype` (fragmentation).
    func skip(migratetype: Int, pages: UInt64) {
        if let c = cursors[migratetype] { cursors[migratetype] = (min(c.end, c.next + pages), c.end) }
    }
}
