import ELFCore

/// A kernel's BTF (BTFData, BTFTypes): the input is the blob. Every question the walkers ask
/// is asked of it, and every type id is turned into a TypeRef.
enum BTFTarget {
    static let structs = ["page", "page_owner", "page_ext", "stack_record", "mem_section", "pglist_data", "zone",
                          "xa_node", "alloc_tag", "codetag", "module", "mem_cgroup", "trace_print_flags"]

    static let target = FuzzTarget(
        name: "btf", summary: "a kernel's BTF blob: header, type records, layouts, bitfields, enumerators (BTFTypes)"
    ) { input in
        guard let types = FuzzLog.attempt("BTF", { try BTFTypes(bytes: Array(input), source: "fuzz") }) else { return }
        FuzzLog.note("\(types.typeCount) types")
        var sum = 0
        for name in structs {
            guard let layout = try? types.structType(name) else { continue }
            for member in layout.members {
                sum &+= member.offset &+ (member.type.size ?? 0)
                if !member.name.isEmpty, let inner = try? layout.member(member.name + ".next") { sum &+= inner.offset }
            }
        }
        if let parts = try? types.unionType("handle_parts") { sum &+= (try? parts.member("offset").bitSize ?? 0) ?? 0 }
        _ = try? types.typedefTarget("depot_stack_handle_t").resolved
        for name in ["PGTY_buddy", "__NR_PAGEFLAGS", "MIGRATE_TYPES", "NR_NODE_STATES"] { sum &+= Int(types.enumerator(name) ?? 0) }
        for id in 0...UInt32(min(types.typeCount + 1, 1 << 16)) { sum &+= types.typeDescription(id).utf8.count }
        PhysicalExercise.sink &+= UInt8(truncatingIfNeeded: sum)
    }
}
