/// Sizes and offsets of the declared C types, measured by compiling the declarations into a
/// tiny host program (the same text gcc turns into the vmlinux DWARF).
struct Layouts {
    private let values: [String: Int]

    static var queries: [(key: String, expr: String)] {
        let p = KernelProfile.current
        var q: [(String, String)] = []
        func size(_ t: String, _ key: String? = nil) { q.append(("SIZE(\(key ?? t))", "sizeof(\(t))")) }
        func off(_ t: String, _ f: String, _ key: String) { q.append(("OFFSET(\(key).\(f))", "offsetof(\(t), \(f))")) }
        size("struct page", "page")
        for f in ["flags", "_refcount", "mapping", "lru", "_mapcount", "private", "compound_head", "page_type", "memcg_data"] {
            off("struct page", f, "page")
        }
        if MemoryModel.current.isSparse {
            size("struct mem_section", "mem_section")
            for f in ["section_mem_map", "usage", "page_ext"] { off("struct mem_section", f, "mem_section") }
            size("struct mem_section_usage", "mem_section_usage")
            for f in ["subsection_map", "pageblock_flags"] { off("struct mem_section_usage", f, "mem_section_usage") }
        } else {
            off("struct pglist_data", "node_mem_map", "pglist_data")
            off("struct pglist_data", "node_page_ext", "pglist_data")
            off("struct zone", "pageblock_flags", "zone")
        }
        size("struct page_owner", "page_owner")
        for f in PageOwnerFields.present(p) { off("struct page_owner", f, "page_owner") }
        size("struct page_ext", "page_ext")
        off("struct page_ext_operations", "offset", "page_ext_operations")
        size("struct stack_record", "stack_record")
        let recordFields = p.recordLayout == .hashList ? ["hash_list", "hash", "size", "handle", "count", "entries"]
                                                       : ["next", "hash", "size", "handle", "entries"]
        for f in recordFields { off("struct stack_record", f, "stack_record") }
        if p.hasStackList {
            size("struct stack", "stack")
            off("struct stack", "stack_record", "stack"); off("struct stack", "next", "stack")
        }
        if p.swapPageOwner { q += SwapPageOwnerDeclarations.layoutQueries }
        if p.allocProfiling { q += AllocTagDeclarations.layoutQueries }
        off("struct mm_struct", "pgd", "mm_struct"); off("struct task_struct", "stack", "task_struct")
        size("struct pglist_data", "pglist_data")
        for f in ["node_zones", "nr_zones", "node_start_pfn", "node_present_pages", "node_spanned_pages", "node_id"] {
            off("struct pglist_data", f, "pglist_data")
        }
        size("struct zone", "zone")
        for f in ["free_area", "vm_stat", "spanned_pages", "present_pages", "zone_start_pfn", "name", "zone_pgdat", "node"] {
            off("struct zone", f, "zone")
        }
        size("struct free_area", "free_area")
        off("struct free_area", "free_list", "free_area")
        size("struct list_head", "list_head")
        off("struct list_head", "next", "list_head"); off("struct list_head", "prev", "list_head")
        size("nodemask_t", "nodemask_t")
        size("struct module", "module")
        for f in ["state", "list", "name", "mem", "kallsyms", "core_kallsyms", "refcnt"] { off("struct module", f, "module") }
        size("struct module_memory", "module_memory")
        off("struct module_memory", "base", "module_memory"); off("struct module_memory", "size", "module_memory")
        for f in ["symtab", "num_symtab", "strtab", "typetab"] { off("struct mod_kallsyms", f, "mod_kallsyms") }
        size("Elf64_Sym", "Elf64_Sym")
        size("struct kernfs_node", "kernfs_node")
        off("struct kernfs_node", "parent", "kernfs_node"); off("struct kernfs_node", "name", "kernfs_node")
        off("struct kernfs_node", "count", "kernfs_node")
        size("struct cgroup", "cgroup")
        off("struct cgroup", "kn", "cgroup"); off("struct cgroup", "level", "cgroup")
        off("struct cgroup_subsys_state", "cgroup", "cgroup_subsys_state")
        off("struct cgroup_subsys_state", "flags", "cgroup_subsys_state")
        off("struct cgroup_subsys_state", "parent", "cgroup_subsys_state")
        size("struct mem_cgroup", "mem_cgroup")
        off("struct mem_cgroup", "css", "mem_cgroup"); off("struct mem_cgroup", "objcg", "mem_cgroup")
        size("struct obj_cgroup", "obj_cgroup")
        off("struct obj_cgroup", "memcg", "obj_cgroup")
        off("struct uts_namespace", "name", "uts_namespace")
        off("struct hstate", "order", "hstate"); off("struct hstate", "name", "hstate")
        size("struct hstate", "hstate")
        q.append(("LENGTH(zone.free_area)", "sizeof(((struct zone *)0)->free_area) / sizeof(struct free_area)"))
        q.append(("LENGTH(free_area.free_list)", "sizeof(((struct free_area *)0)->free_list) / sizeof(struct list_head)"))
        return q
    }

    init(values: [String: Int]) { self.values = values }

    subscript(_ key: String) -> UInt64 {
        guard let v = values[key] else { fatalError("vmsim internal error: layout \(key) not probed") }
        return UInt64(v)
    }
    func size(_ t: String) -> UInt64 { self["SIZE(\(t))"] }
    func offset(_ t: String, _ f: String) -> UInt64 { self["OFFSET(\(t).\(f))"] }
}

/// The members of struct page_owner a profile declares, in order.
enum PageOwnerFields {
    static func present(_ p: KernelProfile) -> [String] {
        var f = ["order", "last_migrate_reason", "gfp_mask", "handle", "free_handle"]
        if p.hasTimestamps { f.append("ts_nsec") }
        if p.hasFreeTs { f.append("free_ts_nsec") }
        if p.hasCommTgid { f.append("comm") }
        if p.hasTimestamps { f.append("pid") }
        if p.hasCommTgid { f.append("tgid") }
        if p.hasFreePid { f += ["free_pid", "free_tgid"] }
        return f
    }
}
