import ELFCore

/// What one pageblock scan saw (the kernel's scan, mm/page_owner.c
/// pagetypeinfo_showmixedcount_print): a block is mixed when an allocated page in it was
/// asked for with another migratetype than the block's.
public struct Pageblock: Sendable {
    public let node: Int
    public let zoneIndex: Int
    /// Where the kernel's scan of this block started, and its end (exclusive).
    public let startPFN: UInt64
    public let endPFN: UInt64
    /// The block's migratetype from the pageblock flags.
    public let migratetype: Int
    /// The first allocation whose gfp migratetype differs from the block's: what made the
    /// kernel count the block. nil when the block is not mixed.
    public let firstMismatchPFN: UInt64?
    /// Base pages allocated in the block, by the migratetype their gfp mask asked for.
    public let allocatedPages: [UInt64]
    /// Base pages free in the buddy allocator, and PageReserved pages.
    public let freePages: UInt64
    public let reservedPages: UInt64
    public var isMixed: Bool { firstMismatchPFN != nil }
}

/// The two pageblock tables of /proc/pagetypeinfo for one zone, and its blocks.
public struct ZoneFragmentation: Sendable {
    public let zone: MemoryZone
    /// "Number of blocks type": pageblocks per migratetype.
    public let blockCounts: [UInt64]
    /// "Number of mixed blocks": mixed pageblocks per migratetype of the block; nil when the
    /// kernel ran without page_owner (the kernel prints no such table then).
    public let mixedCounts: [UInt64]?
    /// Every block the mixed-block scan visited (only when asked for, and with page_owner).
    public let blocks: [Pageblock]
}

public struct Fragmentation: Sendable {
    public struct Node: Sendable {
        public let id: Int
        public let zones: [ZoneFragmentation]
    }

    public let pageblockOrder: UInt64
    public let migrateTypeNames: [String]
    public let nodes: [Node]
    /// Struct pages or page_ext slots that could not be read (treated as absent).
    public let unreadablePages: Int
    /// Blocks whose migratetype is not below MIGRATE_TYPES (the kernel would index past its table).
    public let blocksOfUnknownType: Int
    /// The mixed-block table and the block list need page_owner's gfp masks.
    public var hasMixedCounts: Bool { nodes.contains { $0.zones.contains { $0.mixedCounts != nil } } }

    /// Scans every populated zone of every memory node, as /proc/pagetypeinfo does. The
    /// block counts need only the kernel model; the mixed blocks need page_owner, used when
    /// `model` is a PageOwnerContext.
    public static func scan(model: KernelModel, keepBlocks: Bool = false) throws -> Fragmentation {
        let layout = try NodeZones(dump: model.dump)
        var scanner = try BlockScanner(model: model)
        defer { scanner.release() }
        var nodes: [Node] = []
        for node in layout.nodes {
            var zones: [ZoneFragmentation] = []
            for zone in node.zones where zone.isPopulated {
                let counts = scanner.blockCounts(zone)
                var mixed: [UInt64]?
                var blocks: [Pageblock] = []
                if let owner = scanner.owner {
                    (mixed, blocks) = scanner.mixedBlocks(zone, owner: owner, keepBlocks: keepBlocks)
                }
                zones.append(ZoneFragmentation(zone: zone, blockCounts: counts, mixedCounts: mixed, blocks: blocks))
            }
            nodes.append(Node(id: node.id, zones: zones))
        }
        return Fragmentation(pageblockOrder: model.pageblockOrder, migrateTypeNames: scanner.types.names, nodes: nodes,
                             unreadablePages: scanner.unreadable, blocksOfUnknownType: scanner.unknownType)
    }
}
