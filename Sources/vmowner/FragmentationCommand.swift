import ArgumentParser
import DepotWalker
import ELFCore

struct FragmentationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fragmentation",
        abstract: "Print /proc/pagetypeinfo's pageblock tables: blocks per migratetype and mixed blocks.",
        discussion: """
        A pageblock is mixed when it holds an allocated page whose gfp mask asked for another \
        migratetype than the block's (counted under the block's type), the measure of how well \
        the page allocator kept movable and unmovable memory apart. Needs page_owner (the gfp \
        masks). --blocks lists every pageblock with what it holds.
        """)

    @OptionGroup var files: DumpFiles

    @Flag(help: "List every pageblock: its type, whether it is mixed, and its pages by migratetype.")
    var blocks = false

    @Option(help: "Output format: text, json or csv.")
    var format: OutputFormat = .text

    func run() throws {
        try runReporting(files.vmcore) {
            let model = try files.openModel()
            let report = try Fragmentation.scan(model: model, keepBlocks: blocks)
            if !report.hasMixedCounts {
                Diagnostics.warn("\(files.vmcore): the kernel ran without page_owner: no mixed-block table\(blocks ? " and no block list" : "") (they need its gfp masks)")
            }
            if report.unreadablePages > 0 {
                Diagnostics.warn("\(report.unreadablePages) struct pages or page_ext slots could not be read from \(files.vmcore); counts are partial")
            }
            if report.blocksOfUnknownType > 0 {
                Diagnostics.warn("\(report.blocksOfUnknownType) mixed pageblocks have a migratetype beyond MIGRATE_TYPES; they are not in the table")
            }
            switch format {
            case .text:
                StandardOutput.shared.write(FragmentationText.text(report))
                if blocks { StandardOutput.shared.write(FragmentationText.blocks(report)) }
            case .json:
                StandardOutput.shared.write(try JSONText.encode(FragmentationDocument(report, blocks: blocks)))
            case .csv:
                StandardOutput.shared.write(blocks ? Self.blocksCSV(report) : Self.tablesCSV(report))
            }
        }
    }

    static func tablesCSV(_ r: Fragmentation) -> String {
        var csv = "node,zone,table," + r.migrateTypeNames.map(CSV.field).joined(separator: ",") + "\n"
        for node in r.nodes {
            for z in node.zones {
                csv += "\(node.id),\(CSV.field(z.zone.name)),blocks," + z.blockCounts.map(String.init).joined(separator: ",") + "\n"
                if let mixed = z.mixedCounts {
                    csv += "\(node.id),\(CSV.field(z.zone.name)),mixed," + mixed.map(String.init).joined(separator: ",") + "\n"
                }
            }
        }
        return csv
    }

    static func blocksCSV(_ r: Fragmentation) -> String {
        var csv = "node,zone,start_pfn,end_pfn,migratetype,mixed,first_mismatch_pfn,free_pages,reserved_pages,"
        csv += r.migrateTypeNames.map { CSV.field("allocated_" + $0) }.joined(separator: ",") + "\n"
        for node in r.nodes {
            for z in node.zones {
                for b in z.blocks {
                    csv += "\(b.node),\(CSV.field(z.zone.name)),\(b.startPFN),\(b.endPFN),\(CSV.field(FragmentationDocument.name(b.migratetype, r))),"
                    csv += "\(b.isMixed),\(b.firstMismatchPFN.map(String.init) ?? ""),\(b.freePages),\(b.reservedPages),"
                    csv += b.allocatedPages.map(String.init).joined(separator: ",") + "\n"
                }
            }
        }
        return csv
    }
}

struct FragmentationDocument: Encodable {
    struct Block: Encodable {
        let start_pfn: UInt64
        let end_pfn: UInt64
        let migratetype: String
        let mixed: Bool
        let first_mismatch_pfn: UInt64?
        let free_pages: UInt64
        let reserved_pages: UInt64
        let allocated_pages: [String: UInt64]
    }
    struct Zone: Encodable {
        let node: Int
        let zone: String
        let start_pfn: UInt64
        let spanned_pages: UInt64
        let present_pages: UInt64
        let blocks_by_type: [String: UInt64]
        let mixed_blocks_by_type: [String: UInt64]?
        let blocks: [Block]?
    }
    let pageblock_order: UInt64
    let pages_per_block: UInt64
    let migratetypes: [String]
    let zones: [Zone]

    static func name(_ type: Int, _ r: Fragmentation) -> String {
        type >= 0 && type < r.migrateTypeNames.count ? r.migrateTypeNames[type] : "type\(type)"
    }

    init(_ r: Fragmentation, blocks: Bool) {
        func byName(_ counts: [UInt64]) -> [String: UInt64] {
            Dictionary(zip(r.migrateTypeNames, counts).map { ($0, $1) }, uniquingKeysWith: +)
        }
        pageblock_order = r.pageblockOrder
        pages_per_block = 1 << r.pageblockOrder
        migratetypes = r.migrateTypeNames
        zones = r.nodes.flatMap { node in
            node.zones.map { z in
                Zone(node: node.id, zone: z.zone.name, start_pfn: z.zone.startPFN, spanned_pages: z.zone.spannedPages,
                     present_pages: z.zone.presentPages, blocks_by_type: byName(z.blockCounts),
                     mixed_blocks_by_type: z.mixedCounts.map(byName),
                     blocks: blocks ? z.blocks.map { b in
                         Block(start_pfn: b.startPFN, end_pfn: b.endPFN, migratetype: Self.name(b.migratetype, r), mixed: b.isMixed,
                               first_mismatch_pfn: b.firstMismatchPFN, free_pages: b.freePages, reserved_pages: b.reservedPages,
                               allocated_pages: byName(b.allocatedPages))
                     } : nil)
            }
        }
    }
}
