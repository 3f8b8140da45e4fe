/// The pageblock part of /proc/pagetypeinfo as the kernel prints it per memory node
/// (mm/vmstat.c pagetypeinfo_show): block order and size, then "Number of blocks type" and
/// "Number of mixed blocks" (with page_owner). The free-page table the kernel prints in between is left out.
public enum FragmentationText {
    public static func text(_ report: Fragmentation) -> String {
        var out = ""
        for node in report.nodes {
            out += "Page block order: \(report.pageblockOrder)\n"
            out += "Pages per block:  \(UInt64(1) << report.pageblockOrder)\n"
            out += table("Number of blocks type ", names: report.migrateTypeNames, node.zones.map { ($0.zone, $0.blockCounts) })
            // The kernel prints the mixed table only when page_owner is on.
            if report.hasMixedCounts {
                out += table("Number of mixed blocks ", names: report.migrateTypeNames, node.zones.map { ($0.zone, $0.mixedCounts ?? []) })
            }
        }
        return out
    }

    /// `\n%-23s` title, `%12s ` per migratetype; rows `Node %d, zone %8s ` and `%12lu `.
    static func table(_ title: String, names: [String], _ rows: [(MemoryZone, [UInt64])]) -> String {
        var out = "\n" + padRight(title, 23)
        for name in names { out += padLeft(name, 12) + " " }
        out += "\n"
        for (zone, counts) in rows {
            out += "Node \(zone.node), zone " + padLeft(zone.name, 8) + " "
            for n in counts { out += padLeft(String(n), 12) + " " }
            out += "\n"
        }
        return out
    }

    /// Every pageblock the mixed-block scan visited, one line each; `*` marks mixed blocks.
    public static func blocks(_ report: Fragmentation) -> String {
        let names = report.migrateTypeNames
        var out = "\nPageblocks (* mixed: holds an allocation of another migratetype; pages allocated by the type they asked for)\n"
        out += "  Node Zone          Start PFN      End PFN  " + padRight("Block type", 12) + " First other PFN      Free  Reserved"
        for name in names { out += " " + padLeft(name, 12) }
        out += "\n"
        for node in report.nodes {
            for zone in node.zones {
                for b in zone.blocks {
                    out += (b.isMixed ? "* " : "  ") + padLeft(String(b.node), 4) + " " + padRight(zone.zone.name, 8)
                    out += " " + padLeft(hex(b.startPFN), 12) + " " + padLeft(hex(b.endPFN), 12) + "  "
                    out += padRight(b.migratetype < names.count ? names[b.migratetype] : "type\(b.migratetype)", 12)
                    out += " " + padLeft(b.firstMismatchPFN.map(hex) ?? "-", 15)
                    out += " " + padLeft(String(b.freePages), 9) + " " + padLeft(String(b.reservedPages), 9)
                    for n in b.allocatedPages { out += " " + padLeft(String(n), 12) }
                    out += "\n"
                }
            }
        }
        return out
    }

    public static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    static func padRight(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
