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

    /// `gfpNames`: the kernel's gfpflag_names table, when it can be read.
    init(dump: KernelDump, names: [String], gfpNames: [FlagNames.Entry]?) throws {
        let types = dump.types
        guard !names.isEmpty else {
            throw InputError(file: dump.kernelFile, reason: "migratetype_names is empty")
        }
        self.names = names
        // Migratetypes index per-type tables: small and never negative.
        // migratetype_names is indexed by migratetype: the kernel's own table says where
        // Movable and Reclaimable are, without a search of the DWARF.
        movable = try names.firstIndex(of: "Movable") ?? types.enumerator("MIGRATE_MOVABLE", in: 0...255) ?? 1
        reclaimable = try names.firstIndex(of: "Reclaimable") ?? types.enumerator("MIGRATE_RECLAIMABLE", in: 0...255) ?? 2
        // MIGRATE_CMA exists with CONFIG_CMA, which names it in migratetype_names.
        cma = names.firstIndex(of: "CMA")
        // The gfp name table holds __GFP_MOVABLE and __GFP_RECLAIMABLE with their masks in
        // every version; ___GFP_MOVABLE_BIT and friends are enumerators only from 6.9 on (a
        // name the DWARF lacks costs a scan of all of it); before, the bits are the same
        // #defines (0x08, 0x10), never changed.
        func mask(_ name: String, bit: String, default fallback: UInt64) throws -> UInt64 {
            if let entry = gfpNames?.first(where: { $0.name == name }), entry.mask.nonzeroBitCount == 1 { return entry.mask }
            return UInt64(1) << (try types.bitNumber(bit) ?? fallback)
        }
        movableGFP = try mask("__GFP_MOVABLE", bit: "___GFP_MOVABLE_BIT", default: 3)
        reclaimableGFP = try mask("__GFP_RECLAIMABLE", bit: "___GFP_RECLAIMABLE_BIT", default: 4)
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
