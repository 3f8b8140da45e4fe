/// The declared types of the globals vmowner reads, for when the types come from BTF, which
/// describes no global variable but per-cpu ones. This table is where that knowledge lives:
/// each entry follows the kernel's declaration and names the versions it covers. Array
/// lengths come from VMCOREINFO, an enumerator of the BTF, or the symbol's size (ELF st_size,
/// or with kallsyms the distance to the next symbol, which may include alignment padding).
struct KnownGlobals {
    let symbols: any KernelSymbols
    let info: VMCoreInfo

    func type(of name: String, types: BTFTypes) throws -> TypeRef {
        let unsignedLong = TypeRef.base(name: "long unsigned int", size: 8, signed: false)
        let constString = TypeRef.pointer(.base(name: "char", size: 1, signed: true))
        func structure(_ tag: String) -> TypeRef {
            .structure(name: tag, size: (try? types.structType(tag))?.size ?? 0)
        }
        func lengthFromSize(_ elementSize: Int) -> Int? {
            symbols.size(of: name).map { Int(clamping: $0 / UInt64(elementSize)) }.flatMap { $0 > 0 ? $0 : nil }
        }
        func enumCount(_ enumerator: String) -> Int? {
            (try? types.enumerator(enumerator, in: 1...4096)).map { Int($0) }
        }
        switch name {
        case "node_data":
            // struct pglist_data *node_data[MAX_NUMNODES] (all NUMA kernels). x86_64 writes
            // LENGTH(node_data); otherwise MAX_NUMNODES, a power of two, is the largest one within
            // the symbol and no more than nodemask_t's bits (a bitmap of unsigned longs: exact
            // from 64 nodes on).
            let length = info.nodeDataLength.map(Int.init)
                ?? [lengthFromSize(8).map(Self.powerOfTwoFloor), (try? types.typedefTarget("nodemask_t"))?.size.map { $0 * 8 }].compactMap { $0 }.min()
            return .array(.pointer(structure("pglist_data")), count: length)
        case "node_states":
            // nodemask_t node_states[NR_NODE_STATES] (2.6.23+).
            return .array(.typedef(name: "nodemask_t", try types.typedefTarget("nodemask_t")), count: enumCount("NR_NODE_STATES"))
        case "__per_cpu_offset":
            // unsigned long __per_cpu_offset[NR_CPUS] (x86_64 and the generic per-cpu setup).
            // The symbol's size may include padding; struct cpumask's bits are NR_CPUS rounded
            // up to 64, which has the same order_base_2 (what page flags' LAST_CPUPID width
            // takes) from 64 CPUs on: the smaller of the two.
            let cpumaskBits = (try? types.structType("cpumask")).map { $0.size * 8 }
            return .array(unsignedLong, count: [lengthFromSize(8), cpumaskBits].compactMap { $0 }.min())
        case "mem_section":
            // SPARSEMEM_EXTREME (every x86_64 and arm64 distribution kernel): struct mem_section
            // **mem_section (4.15+); without it struct mem_section mem_section[NR_SECTION_ROOTS][1],
            // which VMCOREINFO tells by LENGTH(mem_section) = NR_MEM_SECTIONS.
            if let roots = info.memSectionRoots, let physical = info.maxPhysmemBits, let section = info.sectionSizeBits,
               physical > section, physical - section < 63, roots == 1 << (physical - section) {
                return .array(.array(structure("mem_section"), count: 1), count: Int(roots))
            }
            return .pointer(.pointer(structure("mem_section")))
        case "stack_table":
            // A pointer to a kvmalloc'd table from 5.17 (the kernels with stack_hash_order, later
            // stack_hash_mask): struct stack_record ** until 6.7, struct list_head * from 6.8.
            // Before, struct stack_record *stack_table[STACK_HASH_SIZE].
            let record = structure("stack_record")
            let listLinked = (try? types.structType("stack_record").memberIfPresent("hash_list")) != nil
            if symbols.address(of: "stack_hash_order") != nil || symbols.address(of: "stack_hash_mask") != nil {
                return .pointer(listLinked ? structure("list_head") : .pointer(record))
            }
            return .array(.pointer(record), count: lengthFromSize(8))
        case "stack_pools", "stack_slabs":
            // void *stack_slabs[STACK_ALLOC_MAX_SLABS] until 6.2, void *stack_pools[DEPOT_MAX_POOLS]
            // 6.3 to 6.14; void **stack_pools from 6.15 (kvcalloc'd, sized by stack_max_pools).
            if symbols.address(of: "stack_max_pools") != nil { return .pointer(.pointer(.void)) }
            return .array(.pointer(.void), count: lengthFromSize(8))
        case "migrate_reason_names":
            // const char *migrate_reason_names[MR_TYPES] (4.4+).
            return .array(constString, count: enumCount("MR_TYPES"))
        case "migratetype_names":
            // const char * const migratetype_names[MIGRATE_TYPES] (4.4+).
            return .array(constString, count: enumCount("MIGRATE_TYPES"))
        default:
            throw InputError(file: types.source, reason: "the type of the global \(name) is not known: BTF describes no global variables and vmowner's table of them has no entry for it (give the vmlinux with DWARF)")
        }
    }

    static func powerOfTwoFloor(_ value: Int) -> Int {
        value <= 0 ? 0 : 1 << (Int.bitWidth - 1 - value.leadingZeroBitCount)
    }
}
