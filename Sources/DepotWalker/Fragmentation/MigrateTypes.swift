import ELFCore

/// The migratetypes of this kernel and how an allocation's gfp mask picks one
/// (gfp_migratetype: the movable and reclaimable bits, unless grouping by mobility is off).
struct MigrateTypes: Sendable {
    /// migratetype_names[MIGRATE_TYPES].
    let names: [String]
    let movable: Int
    let reclaimable: Int
    /// MIGRATE_CMA when the kernel has CMA: mixed CMA blocks count as movable.
    let cma: Int?
    let movableGFP: UInt64
    let reclaimableGFP: UInt64
    /// page_group_by_mobility_disabled: every allocation is then unmovable.
    let groupingDisabled: Bool

    init(dump: KernelDump, names: [String]) throws {
        let types = dump.vmlinux.types
        guard !names.isEmpty else {
            throw InputError(file: dump.vmlinux.path, reason: "migratetype_names is empty")
        }
        self.names = names
        // Migratetypes index per-type tables: small and never negative.
        movable = try types.enumerator("MIGRATE_MOVABLE", in: 0...255) ?? 1
        reclaimable = try types.enumerator("MIGRATE_RECLAIMABLE", in: 0...255) ?? 2
        cma = try types.enumerator("MIGRATE_CMA", in: 0...255)
        // ___GFP_MOVABLE_BIT and friends are enumerators from 6.9 on; before, the bits are
        // the same #defines (0x08, 0x10), never changed.
        movableGFP = UInt64(1) << (try types.bitNumber("___GFP_MOVABLE_BIT") ?? 3)
        reclaimableGFP = UInt64(1) << (try types.bitNumber("___GFP_RECLAIMABLE_BIT") ?? 4)
        if let at = dump.address(of: "page_group_by_mobility_disabled") {
            groupingDisabled = try dump.memory.u32(at) != 0
        } else {
            groupingDisabled = false
        }
    }

    init(names: [String], movable: Int, reclaimable: Int, cma: Int?, movableGFP: UInt64, reclaimableGFP: UInt64, groupingDisabled: Bool) {
        self.names = names
        self.movable = movable
        self.reclaimable = reclaimable
        self.cma = cma
        self.movableGFP = movableGFP
        self.reclaimableGFP = reclaimableGFP
        self.groupingDisabled = groupingDisabled
    }

    @inline(__always)
    func of(gfp: UInt64) -> Int {
        if groupingDisabled { return 0 }
        return (gfp & movableGFP != 0 ? movable : 0) | (gfp & reclaimableGFP != 0 ? reclaimable : 0)
    }

    func name(_ type: Int) -> String {
        type >= 0 && type < names.count ? names[type] : "type\(type)"
    }
}
