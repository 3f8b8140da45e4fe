// The C declarations that differ between kernel generations (kernel-facts §1.1, §1.3, §1.6,
// §2.1–§2.3). KernelDeclarations.types and .globals splice these in for KernelProfile.current.

extension KernelDeclarations {
    private static var P: KernelProfile { KernelProfile.current }

    // MARK: types

    static var pageFlagsType: String {
        P.memdescFlags ? "typedef struct { unsigned long f; } memdesc_flags_t;" : ""
    }
    static var pageFlagsMember: String { P.memdescFlags ? "memdesc_flags_t flags;" : "unsigned long flags;" }

    /// 6.1's numbering (≤6.6 here) or 6.12's (6.8+ here).
    static var pageFlagsEnum: String {
        let names = P.oldPageFlags ? PageFlagLayout.old.enumNames : PageFlagLayout.new.enumNames
        let aliases = P.oldPageFlags
            ? ["PG_readahead = PG_reclaim", "PG_swapcache = PG_owner_priv_1", "PG_checked = PG_owner_priv_1",
               "PG_anon_exclusive = PG_mappedtodisk", "PG_fscache = PG_private_2", "PG_isolated = PG_reclaim",
               "PG_reported = PG_uptodate", "PG_has_hwpoisoned = PG_error"]
            : ["PG_readahead = PG_reclaim", "PG_swapcache = PG_owner_priv_1", "PG_checked = PG_owner_priv_1",
               "PG_anon_exclusive = PG_owner_2", "PG_mappedtodisk = PG_owner_2", "PG_fscache = PG_private_2",
               "PG_isolated = PG_reclaim", "PG_reported = PG_uptodate", "PG_has_hwpoisoned = PG_active",
               "PG_large_rmappable = PG_workingset", "PG_partially_mapped = PG_reclaim"]
        return "enum pageflags {\n" + (names + ["__NR_PAGEFLAGS"] + aliases).map { "\t\($0),\n" }.joined() + "};"
    }

    /// PGTY_* values exist as an enum from 6.12 (our profiles); before, PG_buddy and friends are
    /// macros, absent from DWARF.
    static var pageTypeEnum: String {
        guard P.pageTypeTopByte else { return "" }
        return """
        /* Top byte of page->page_type when the page has a type (6.12 scheme). */
        enum pagetype {
        	PGTY_buddy = 0xf0,
        	PGTY_offline = 0xf1,
        	PGTY_table = 0xf2,
        	PGTY_guard = 0xf3,
        	PGTY_hugetlb = 0xf4,
        	PGTY_slab = 0xf5,
        	PGTY_zsmalloc = 0xf6,
        	PGTY_unaccepted = 0xf7,
        	PGTY_mapcount_underflow = 0xff,
        };
        """
    }

    /// page->memcg_data flag bits (5.11+).
    static var memcgDataEnum: String {
        guard P.version >= 511 else { return "" }
        return """
        enum page_memcg_data_flags {
        	\(P.memcgBit0Name) = (1UL << 0),
        	MEMCG_DATA_KMEM = (1UL << 1),
        	__NR_MEMCG_DATA_FLAGS = (1UL << 2),
        };
        """
    }

    /// struct ptdesc, the page-table descriptor that 6.5 split out of struct page (the kernel's
    /// x86 page-table code uses it from then on, so its DWARF has the type).
    static var pageTableDescriptor: String {
        guard P.version >= 605 else { return "" }
        return """
        struct ptdesc {
        	unsigned long __page_flags;
        	unsigned long pt_list[2];
        	unsigned long __page_mapping;
        	unsigned long pt_index;
        	unsigned long pt_mm;
        	unsigned int __page_type;
        	unsigned int __page_refcount;
        	unsigned long pt_memcg_data;
        };
        """
    }

    static var pageblockBitsEnum: String {
        if P.pageblockBits == 8 {
            return """
            enum pageblock_bits {
            	PB_migrate_0,
            	PB_migrate_1,
            	PB_migrate_2,
            	PB_compact_skip,
            	PB_migrate_isolate,
            	__NR_PAGEBLOCK_BITS
            };
            """
        }
        return """
        enum pageblock_bits {
        	PB_migrate,
        	PB_migrate_end = PB_migrate + 3 - 1,
        	PB_migrate_skip,
        	NR_PAGEBLOCK_BITS
        };
        """
    }

    static var pageExtOperations: String {
        return """
        struct page_ext_operations {
        	size_t offset;
        	size_t size;
        	bool (*need)(void);
        	void (*init)(void);
        \(P.hasSharedFlags ? "\tbool need_shared_flags;\n" : "")};
        """
    }

    static var pageOwnerStruct: String {
        var s = """
        struct page_owner {
        	unsigned short order;
        	short last_migrate_reason;
        	gfp_t gfp_mask;
        	depot_stack_handle_t handle;
        	depot_stack_handle_t free_handle;

        """
        if P.hasTimestamps { s += "\tu64 ts_nsec;\n" }
        if P.hasFreeTs { s += "\tu64 free_ts_nsec;\n" }
        if P.hasCommTgid { s += "\tchar comm[TASK_COMM_LEN];\n" }
        if P.hasTimestamps { s += "\tpid_t pid;\n" }
        if P.hasCommTgid { s += "\tpid_t tgid;\n" }
        if P.hasFreePid { s += "\tpid_t free_pid;\n\tpid_t free_tgid;\n" }
        return s + "};"
    }

    static var stackDepotTypes: String {
        var s = "#define DEPOT_POOL_ORDER 2\n#define DEPOT_POOL_SIZE (1UL << (\(Platform.current.pageShift) + DEPOT_POOL_ORDER))\n"
        s += "#define CONFIG_STACKDEPOT_MAX_FRAMES 64\n#define DEPOT_MAX_POOLS \(P.depotMaxPools)\n#define STACK_ALLOC_MAX_SLABS \(P.depotMaxPools)\n"
        s += "#define STACK_HASH_SIZE (1L << 20)\n\nunion handle_parts {\n\tdepot_stack_handle_t handle;\n\tstruct {\n"
        s += "\t\tu32 \(P.handleIndexName) : \(P.handleIndexBits);\n\t\tu32 offset : \(P.handleOffsetBits);\n"
        if P.handleHasValid { s += "\t\tu32 valid : 1;\n" }
        if P.handleHasExtra { s += "\t\tu32 extra : 5;\n" }
        s += "\t};\n};\n\n"
        if P.recordLayout == .nextChain {
            s += """
            struct stack_record {
            	struct stack_record *next;
            	u32 hash;
            	u32 size;
            	union handle_parts handle;
            	unsigned long entries[\(P.entriesOneElement ? "1" : "")];
            };

            """
        } else {
            s += """
            struct stack_record {
            	struct list_head hash_list;
            	u32 hash;
            	u32 size;
            	union handle_parts handle;
            	refcount_t count;
            	union {
            		unsigned long entries[CONFIG_STACKDEPOT_MAX_FRAMES];
            		struct {
            			struct list_head free_list;
            			unsigned long rcu_state;
            		};
            	};
            };

            """
        }
        if P.hasStackList {
            s += """

            /* page_owner's list of allocation stacks (mm/page_owner.c). */
            struct stack {
            	struct stack_record *stack_record;
            	struct stack *next;
            };

            """
        }
        if XArrayDeclarations.needed { s += XArrayDeclarations.types }
        if P.swapPageOwner { s += SwapPageOwnerDeclarations.types }
        if P.allocProfiling { s += AllocTagDeclarations.types }
        return s
    }

    // MARK: globals

    static var pageOwnerOpsInit: String {
        "\t.size = sizeof(struct page_owner),\n\t.need = need_page_owner,\n\t.init = init_page_owner,\n"
            + (P.hasSharedFlags ? "\t.need_shared_flags = 1,\n" : "")
    }

    static var pageOwnerGlobals: String {
        var s = "struct static_key_false page_owner_inited;\n"
        s += "static depot_stack_handle_t dummy_handle __used;\nstatic depot_stack_handle_t failure_handle __used;\n"
        s += "static depot_stack_handle_t early_handle __used;\n"
        if P.hasStackList {
            s += "static struct stack dummy_stack __used;\nstatic struct stack failure_stack __used;\n"
            s += "static struct stack *stack_list __used;\nstatic unsigned long \(P.threshold) __used;\n"
        }
        if P.swapPageOwner { s += SwapPageOwnerDeclarations.globals }
        if P.allocProfiling { s += AllocTagDeclarations.globals }
        return s
    }

    static var stackDepotGlobals: String {
        var s = ""
        switch P.version {
        case ..<515: s += ""
        case ..<603: s += "static bool stack_depot_disable __used;\n"
        default: s += "static bool stack_depot_disabled __used;\n"
        }
        switch P.tableKind {
        case .staticArray: s += "static struct stack_record *stack_table[STACK_HASH_SIZE] __used;\n"
        case .pointerNoMask: s += "static struct stack_record **stack_table __used;\n"
        case .pointerWithMask:
            s += "static struct stack_record **stack_table __used;\n"
            s += P.version >= 603 ? "static unsigned int stack_bucket_number_order __used;\n" : "static unsigned int stack_hash_order __used;\n"
            s += "static unsigned int stack_hash_mask __used;\n"
        case .listHeads:
            s += "static struct list_head *stack_table __used;\nstatic unsigned int stack_bucket_number_order __used;\n"
            s += "static unsigned int stack_hash_mask __used;\n"
        }
        if P.poolsPointer {
            s += "static void **stack_pools __used;\nstatic unsigned int stack_max_pools __used = DEPOT_MAX_POOLS;\n"
        } else {
            s += "static void *\(P.poolArrayName)[DEPOT_MAX_POOLS] __used;\n"
        }
        s += "static int \(P.poolCounterName) __used;\n"
        if P.recordLayout == .hashList {
            s += "static void *new_pool __used;\nstatic size_t pool_offset __used = DEPOT_POOL_SIZE;\n"
            s += "static struct list_head free_stacks __used = { &free_stacks, &free_stacks };\nstatic long counters[6] __used;\n"
        } else {
            s += "static size_t \(P.poolOffsetName) __used;\n"
            s += P.version >= 603 ? "static int next_pool_required __used = 1;\n" : "static int next_slab_inited __used;\n"
        }
        return s
    }

    static var gfpAtomicDefines: String {
        P.hasGfpAtomic
            ? "#define ___GFP_ATOMIC         0x200u\n#define GFP_ATOMIC (___GFP_HIGH | ___GFP_ATOMIC | ___GFP_KSWAPD_RECLAIM)"
            : "#define GFP_ATOMIC (___GFP_HIGH | ___GFP_KSWAPD_RECLAIM)"
    }
    static var gfpAtomicName: String { P.hasGfpAtomic ? "\t{ ___GFP_ATOMIC, \"__GFP_ATOMIC\" },\n" : "" }

    static var pageFlagNamesTable: String {
        let layout = P.oldPageFlags ? PageFlagLayout.old : PageFlagLayout.new
        return layout.printNames.map { "\t{ 1UL << PG_\($0), \"\($0)\" },\n" }.joined()
    }
}

/// Page flag bit numbering and pageflag_names[] order for one generation. The workload speaks
/// 6.12 bits (PageFlag in Model.swift); `translate` moves them to the profile's bits.
struct PageFlagLayout {
    let enumNames: [String]    // PG_* in bit order
    let printNames: [String]   // pageflag_names[] order

    static let new = PageFlagLayout(
        enumNames: ["PG_locked", "PG_writeback", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru", "PG_head",
                    "PG_waiters", "PG_active", "PG_workingset", "PG_owner_priv_1", "PG_owner_2", "PG_arch_1",
                    "PG_reserved", "PG_private", "PG_private_2", "PG_reclaim", "PG_swapbacked", "PG_unevictable",
                    "PG_mlocked"],
        printNames: ["locked", "waiters", "referenced", "uptodate", "dirty", "lru", "active", "workingset",
                     "owner_priv_1", "owner_2", "arch_1", "reserved", "private", "private_2", "writeback", "head",
                     "reclaim", "swapbacked", "unevictable", "mlocked"])

    static let old = PageFlagLayout(
        enumNames: ["PG_locked", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru", "PG_active", "PG_workingset",
                    "PG_waiters", "PG_error", "PG_slab", "PG_owner_priv_1", "PG_arch_1", "PG_reserved", "PG_private",
                    "PG_private_2", "PG_writeback", "PG_head", "PG_mappedtodisk", "PG_reclaim", "PG_swapbacked",
                    "PG_unevictable", "PG_mlocked"],
        printNames: ["locked", "waiters", "error", "referenced", "uptodate", "dirty", "lru", "active", "workingset",
                     "slab", "owner_priv_1", "arch_1", "reserved", "private", "private_2", "writeback", "head",
                     "mappedtodisk", "reclaim", "swapbacked", "unevictable", "mlocked"])

    var count: Int { enumNames.count }

    /// Bit of each name (the enum order).
    func bit(_ name: String) -> Int? { enumNames.firstIndex(of: "PG_" + name) }

    /// The name table as (mask, name), as format_flags walks it.
    var names: [(UInt64, String)] { printNames.map { (UInt64(1) << UInt64(bit($0)!), $0) } }

    /// 6.12 bits (the workload's) to this layout's, plus PG_slab for slab pages where it exists.
    func translate(_ newFlags: UInt64, slab: Bool) -> UInt64 {
        guard enumNames != PageFlagLayout.new.enumNames else { return newFlags }
        var out: UInt64 = 0
        for (i, n) in PageFlagLayout.new.enumNames.enumerated() where newFlags & (1 << UInt64(i)) != 0 {
            let name = n == "PG_owner_2" ? "PG_mappedtodisk" : n
            if let b = enumNames.firstIndex(of: name) { out |= 1 << UInt64(b) }
        }
        if slab, let b = bit("slab") { out |= 1 << UInt64(b) }
        return out
    }

    static var current: PageFlagLayout { KernelProfile.current.oldPageFlags ? .old : .new }
}
