import ELFCore

/// One `struct zone` of a node: where it spans and whether it has pages.
public struct MemoryZone: Sendable, Equatable {
    public let node: Int
    /// Index in `pglist_data.node_zones` (the zone number page->flags carries).
    public let index: Int
    public let name: String
    public let startPFN: UInt64
    public let spannedPages: UInt64
    public let presentPages: UInt64
    /// FLATMEM's `zone->pageblock_flags` (SPARSEMEM keeps them per section): nil without.
    public var pageblockFlags: UInt64? = nil
    /// zone_end_pfn: one past the last spanned pfn.
    public var endPFN: UInt64 { startPFN &+ spannedPages }
    /// populated_zone: the zone has present pages.
    public var isPopulated: Bool { presentPages != 0 }
}

/// The memory nodes /proc/pagetypeinfo reports on (online nodes with memory) and their zones,
/// from `node_data[]` (NUMA) or `contig_page_data`.
public struct NodeZones: Sendable {
    public struct Node: Sendable {
        public let id: Int
        public let zones: [MemoryZone]
        public let startPFN: UInt64
        public let spannedPages: UInt64
        /// FLATMEM's `node_mem_map` (struct page of node_start_pfn) and `node_page_ext`
        /// (slot of node_start_pfn rounded down to MAX_ORDER_NR_PAGES); nil without.
        public let memMap: UInt64?
        public let pageExt: UInt64?
    }

    public let nodes: [Node]
    static let maxNodes = 1 << 12

    public init(dump: KernelDump) throws {
        let types = dump.types
        let memory = dump.memory
        let pgdatType = try types.structType("pglist_data")
        let zonesMember = try pgdatType.member("node_zones")
        guard case .array(let zoneRef, let zoneCount?) = zonesMember.type.resolved, let zoneSize = zoneRef.size,
              zoneCount > 0, zoneCount <= 16, zoneSize > 0 else {
            throw InputError(file: dump.kernelFile, reason: "pglist_data.node_zones is not a fixed array of struct zone in the \(dump.types.origin)")
        }
        let nodeID = try pgdatType.field("node_id")
        let nodeStart = try pgdatType.field("node_start_pfn")
        let nodeSpanned = try pgdatType.field("node_spanned_pages")
        let nodeMemMap = try pgdatType.optionalField("node_mem_map")
        let nodePageExt = try pgdatType.optionalField("node_page_ext")
        let zoneType = try types.structType("zone")
        let start = try zoneType.field("zone_start_pfn")
        let spanned = try zoneType.field("spanned_pages")
        let present = try zoneType.field("present_pages")
        let name = try zoneType.member("name").offset
        let pageblockFlags = try zoneType.optionalField("pageblock_flags")

        var pgdats: [UInt64] = []
        if let at = dump.address(of: "node_data") {
            var count = 1
            if case .array(_, let n?) = try types.variableType("node_data").resolved { count = n }
            guard count >= 1, count <= Self.maxNodes else {
                throw InputError(file: dump.kernelFile, reason: "implausible node_data length \(count)")
            }
            for i in 0..<count {
                let p = try memory.u64(at &+ UInt64(i) &* 8)
                if p != 0 { pgdats.append(p) }
            }
        } else {
            pgdats = [try dump.requireAddress(of: "contig_page_data")]
        }
        let withMemory = NodeStates(dump: dump)

        var nodes: [Node] = []
        for pgdat in pgdats {
            let rawID = try nodeID.read(memory, at: pgdat)
            guard rawID < UInt64(Self.maxNodes) else {
                throw InputError(file: dump.vmcorePath, reason: "pglist_data at 0x\(String(pgdat, radix: 16)) has node_id \(rawID)")
            }
            let id = Int(rawID)
            guard withMemory.has(node: id) ?? true else { continue }
            var zones: [MemoryZone] = []
            for z in 0..<zoneCount {
                let zone = pgdat &+ UInt64(zonesMember.offset) &+ UInt64(z) &* UInt64(zoneSize)
                let namePointer = try memory.u64(zone &+ UInt64(name))
                zones.append(MemoryZone(
                    node: id, index: z,
                    name: namePointer == 0 ? "?" : try memory.cString(namePointer, max: 32),
                    startPFN: try start.read(memory, at: zone),
                    spannedPages: try spanned.read(memory, at: zone),
                    presentPages: try present.read(memory, at: zone),
                    pageblockFlags: try pageblockFlags?.read(memory, at: zone)))
            }
            if withMemory.has(node: id) == nil, !zones.contains(where: \.isPopulated) { continue }
            nodes.append(Node(id: id, zones: zones,
                              startPFN: try nodeStart.read(memory, at: pgdat),
                              spannedPages: try nodeSpanned.read(memory, at: pgdat),
                              memMap: try nodeMemMap?.read(memory, at: pgdat),
                              pageExt: try nodePageExt?.read(memory, at: pgdat)))
        }
        self.nodes = nodes.sorted { $0.id < $1.id }
    }
}

/// `node_states[N_MEMORY]`: which nodes have memory. nil answers when it cannot be read
/// (then a node counts when one of its zones has present pages).
struct NodeStates {
    private var mask: [UInt8]?

    init(dump: KernelDump) {
        guard let at = dump.address(of: "node_states"),
              let index = dump.types.enumerator("N_MEMORY"),
              case .array(let element, let count?)? = try? dump.types.variableType("node_states").resolved,
              let size = element.size, size > 0, size <= 1024, index >= 0, index < count else { return }
        mask = try? dump.memory.bytes(at &+ UInt64(index) &* UInt64(size), count: size)
    }

    func has(node: Int) -> Bool? {
        guard let mask else { return nil }
        guard node / 8 < mask.count else { return false }
        return mask[node / 8] >> UInt8(node % 8) & 1 != 0
    }
}
