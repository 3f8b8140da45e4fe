/// Which kernel generation vmsim simulates (`--kernel`). Every place that differs between
/// generations asks the profile instead of testing version numbers itself; the facts come
/// from /work/shared/kernel-facts.md §1–§3.
struct KernelProfile: Equatable {
    /// The `--kernel` spelling: 5.4, 5.10, 5.15, 6.1, 6.6, 6.8, 6.12, 6.19, 6.19-swap.
    let name: String
    /// major * 100 + minor (6.19 → 619).
    let version: Int
    /// The swap_page_owner RFC model (SwapPageOwner.swift) on top of 6.19.
    let swapPageOwner: Bool

    static let names = ["5.4", "5.10", "5.15", "6.1", "6.6", "6.8", "6.12", "6.19", "6.19-swap"]

    init?(_ name: String) {
        guard KernelProfile.names.contains(name) else { return nil }
        self.name = name
        swapPageOwner = name.hasSuffix("-swap")
        let parts = name.split(separator: "-")[0].split(separator: ".").compactMap { Int($0) }
        version = parts[0] * 100 + parts[1]
    }

    /// The profile the C text, name tables and formats are generated for. Set once by main
    /// before anything is built; every generator reads it.
    nonisolated(unsafe) static var current = KernelProfile("6.12")!

    var release: String { "\(name.split(separator: "-")[0]).0-vmsim" }
    var banner: String {
        "Linux version \(release) (vmsim@build) (gcc (GCC) 12.2.0, GNU ld 2.40) #1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026\n"
    }

    // MARK: page_owner

    /// sizeof(struct page_owner): 16 (≤5.10), 40 (5.13–5.17), 56 (5.18–6.6), 64 (6.7+).
    var pageOwnerSize: Int { version >= 607 ? 64 : version >= 518 ? 56 : version >= 513 ? 40 : 16 }
    var hasTimestamps: Bool { version >= 511 }
    var hasFreeTs: Bool { version >= 513 }
    var hasCommTgid: Bool { version >= 518 }
    var hasFreePid: Bool { version >= 607 }
    /// page_ext slot: struct page_ext (8) + struct page_owner (the only client).
    var pageExtSize: UInt64 { 8 + UInt64(pageOwnerSize) }
    /// page_ext_operations.need_shared_flags (6.3+).
    var hasSharedFlags: Bool { version >= 603 }
    /// page_owner_stacks (stack_list, refcounts, dummy/failure stacks): 6.9+.
    var hasStackList: Bool { version >= 609 }
    /// memcg lines in page_owner records (5.19+).
    var printsMemcg: Bool { version >= 519 }
    /// MEMCG_DATA_OBJCGS (≤6.9) or MEMCG_DATA_OBJEXTS (6.10+) for bit 0 of memcg_data.
    var memcgBit0Name: String { version >= 610 ? "MEMCG_DATA_OBJEXTS" : "MEMCG_DATA_OBJCGS" }
    /// PFN in hex on line 2 (6.5+).
    var hexPfn: Bool { version >= 605 }
    /// `Flags %#lx(%pGp)` with %pGp names only (≤5.13).
    var pageFlagsNamesOnly: Bool { version < 514 }
    /// ___GFP_ATOMIC (0x200) exists until 6.3.
    var hasGfpAtomic: Bool { version < 604 }
    /// 6.1's page flag numbering (error, slab, head at 16 …) up to 6.6; 6.12's from 6.8.
    var oldPageFlags: Bool { version < 608 }
    /// PGTY_* in the top byte of page_type (6.12+); before, PG_buddy 0x80 cleared under 0xf0000000.
    var pageTypeTopByte: Bool { version >= 611 }
    /// NR_PAGEBLOCK_BITS 8 with the PB_migrate_isolate bit (6.16+), else 4.
    var pageblockBits: Int { version >= 616 ? 8 : 4 }
    /// page->flags is memdesc_flags_t (6.18+).
    var memdescFlags: Bool { version >= 618 }

    // MARK: memory allocation profiling

    /// CONFIG_MEM_ALLOC_PROFILING (6.10+): allocation tags and /proc/allocinfo.
    var allocProfiling: Bool { version >= 610 }
    /// /proc/allocinfo's header version: 2.0 from 6.18, which marks inaccurate tags.
    var allocInfoVersion: String { version >= 618 ? "2.0" : "1.0" }
    var printsInaccurateTags: Bool { version >= 618 }

    // MARK: stack depot

    enum RecordLayout { case nextChain, hashList }
    /// stack_record with `next` (≤6.7) or hash_list/count/fixed entries (6.8+).
    var recordLayout: RecordLayout { version >= 608 ? .hashList : .nextChain }
    /// 5.4/5.10 declare entries[1]; 5.15–6.7 a flexible array.
    var entriesOneElement: Bool { version < 515 }
    enum TableKind { case staticArray, pointerNoMask, pointerWithMask, listHeads }
    var tableKind: TableKind {
        version >= 608 ? .listHeads : version >= 601 ? .pointerWithMask : version >= 515 ? .pointerNoMask : .staticArray
    }
    /// Handle bitfields, bit 0 first: the pool index, then the offset in 16-byte units
    /// (DEPOT_OFFSET_BITS = DEPOT_POOL_ORDER 2 + PAGE_SHIFT - DEPOT_STACK_ALIGN 4: 10 with 4K
    /// pages), then valid (≤6.7) and extra (6.1+) bits; the index takes what is left of 32.
    var handleOffsetBits: Int { Int(Platform.current.pageShift) - 2 }
    var handleIndexBits: Int { (version >= 608 ? 27 : version >= 601 ? 26 : 31) - handleOffsetBits }
    /// DEPOT_MAX_POOLS (6.3+, one less than the index can count from 6.8) or
    /// STACK_ALLOC_MAX_SLABS, capped at 8192: 8192 with 4K pages, fewer with 64K.
    var depotMaxPools: Int { min((1 << handleIndexBits) - (version >= 608 ? 1 : 0), 8192) }
    var handleHasValid: Bool { version < 608 }
    var handleHasExtra: Bool { version >= 601 }
    /// The pool index is stored plus one (6.9+); 6.8.0 stores it as is.
    var handlePlusOne: Bool { version >= 609 }
    var handleIndexName: String {
        version >= 609 ? "pool_index_plus_1" : version >= 603 ? "pool_index" : "slabindex"
    }
    /// The handle of a record at `pool`, byte offset `offset`.
    func handle(pool: Int, offset: Int) -> UInt32 {
        let index = UInt32(pool + (handlePlusOne ? 1 : 0))
        var h = index | UInt32(offset >> 4) << UInt32(handleIndexBits)
        if handleHasValid { h |= 1 << UInt32(handleIndexBits + handleOffsetBits) }
        return h
    }
    /// Bytes a page_owner record of `frames` entries takes in its pool.
    func recordBytes(frames: Int) -> Int {
        let header = recordLayout == .hashList ? 32 : 24
        return (header + 8 * frames + 15) & ~15
    }
    /// stack_record.count exists from 6.8; page_owner's records stay SATURATED until used (6.9+).
    var recordHasCount: Bool { version >= 608 }
    /// Names of the pool array, the current-pool counter and the offset in it.
    var poolArrayName: String { version >= 603 ? "stack_pools" : "stack_slabs" }
    var poolsPointer: Bool { version >= 616 }
    var poolCounterName: String { version >= 608 ? "pools_num" : version >= 603 ? "pool_index" : "depot_index" }
    var poolOffsetName: String { version >= 603 ? "pool_offset" : "depot_offset" }
    /// The counter holds the number of pools (6.8+) or the index of the current one.
    var poolCounterIsCount: Bool { version >= 608 }
    var threshold: String { "page_owner_pages_threshold" }
}

/// Offsets the generators hard-code per generation (kernel-facts §1.1 and §2.3, LP64).
enum ProfileLayoutChecks {
    static func expected(_ p: KernelProfile) -> [(String, UInt64)] {
        var e: [(String, UInt64)] = []
        if p.hasTimestamps { e.append(("OFFSET(page_owner.ts_nsec)", 16)) }
        if p.hasCommTgid { e.append(("OFFSET(page_owner.comm)", 32)) }
        if p.hasFreePid { e.append(("OFFSET(page_owner.free_tgid)", 60)) }
        if p.recordLayout == .hashList {
            e += [("SIZE(stack_record)", 544), ("OFFSET(stack_record.entries)", 32)]
        } else {
            e += [("SIZE(stack_record)", p.entriesOneElement ? 32 : 24), ("OFFSET(stack_record.entries)", 24)]
        }
        return e
    }
}
