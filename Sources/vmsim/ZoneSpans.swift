/// Node 0's zones as free_area_init sets them up: DMA from pfn 1, DMA32 to 4 GiB, Normal
/// above, an empty Movable: what writeGlobals writes into pglist_data's zones and what
/// /proc/pagetypeinfo's expected tables count.
struct ZoneSpan {
    let name: String
    /// zone_start_pfn and spanned_pages (both 0 for a zone beyond the end of memory).
    let startPfn: UInt64
    let spannedPages: UInt64
    let presentPages: UInt64
    var endPfn: UInt64 { startPfn + spannedPages }
}

extension Simulator {
    var zoneSpans: [ZoneSpan] {
        var ranges: [(String, UInt64, UInt64)] = [("DMA", 1, 4096), ("DMA32", 4096, 1 << 20),
                                                 ("Normal", 1 << 20, max(1 << 20, layout.maxPfn)), ("Movable", 0, 0)]
        let ps = MachineLayout.pageSize
        if Platform.current.isARM64 {
            // arm64 (zone_sizes_init): DMA up to 4 GiB from the first RAM pfn, DMA32 empty.
            let first = layout.ram[0].start / ps, fourG = (1 << 32) / ps
            ranges = [("DMA", first, max(first, fourG)), ("DMA32", 0, 0), ("Normal", fourG, max(fourG, layout.maxPfn)),
                      ("Movable", 0, 0)]
        }
        return ranges.map { name, start, end in
            let s = min(start, layout.maxPfn), e = min(end, layout.maxPfn)
            var present: UInt64 = 0
            for r in layout.ram {
                let a = max(r.start / ps, s), b = min(r.end / ps, e)
                if b > a { present += b - a }
            }
            return ZoneSpan(name: name, startPfn: e > s ? s : 0, spannedPages: e > s ? e - s : 0, presentPages: present)
        }
    }
}
