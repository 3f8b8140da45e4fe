/// Puts the allocation-profiling state into kernel memory as a 6.12 kernel leaves it after
/// alloc_tag_init and loading brd:
/// - the per-CPU `struct alloc_tag_counters` of every tag in each CPU's per-cpu area, and
///   `__cpu_possible_mask` naming those CPUs;
/// - the image's tags (already in the `alloc_tags` section) pointed at their counters;
/// - brd's tags and their strings in the module's data memory, `mod->percpu` holding its counters;
/// - `alloc_tag_cttype`, a kzalloc'd codetag_type on `codetag_types`, whose `mod_idr` holds
///   the image (id 0) and brd (id 1) as codetag_modules in one xa_node;
/// - `mem_alloc_profiling_key` on.
extension Simulator {
    /// Where the counters start in each per-cpu area (a zero-based per-cpu offset).
    static let allocTagCounterBase: UInt64 = 0x8000

    func writeAllocTags(percpu: [UInt64]) {
        guard profile.allocProfiling, let model = allocTags else { return }
        let L = layouts!
        let tagSize = L.size("alloc_tag"), counterSize = L.size("alloc_tag_counters")
        let all = model.all
        precondition(Self.allocTagCounterBase + UInt64(all.count + 8) * counterSize <= 64 << 10, "per-cpu area too small")
        func counterOffset(_ i: Int) -> UInt64 { Self.allocTagCounterBase + UInt64(i) * counterSize }
        for (cpu, area) in percpu.enumerated() {
            for (i, t) in all.enumerated() {
                kmem.writeU64(area + counterOffset(i) + L.offset("alloc_tag_counters", "bytes"), t.perCPU[cpu].bytes)
                kmem.writeU64(area + counterOffset(i) + L.offset("alloc_tag_counters", "calls"), t.perCPU[cpu].calls)
            }
        }
        kmem.writeU64(sym("__cpu_possible_mask"), (UInt64(1) << UInt64(percpu.count)) - 1)

        func writeTag(_ at: UInt64, _ t: AllocTagModel.Tag, counters: UInt64) {
            let ct = at + L.offset("alloc_tag", "ct")
            kmem.writeU32(ct + L.offset("codetag", "flags"), t.inaccurate ? 1 : 0)
            kmem.writeU64(at + L.offset("alloc_tag", "counters"), counters)
        }
        let kernelStart = sym("__start_alloc_tags")
        let kernelStop = sym("__stop_alloc_tags")
        precondition(kernelStop - kernelStart == UInt64(model.kernelTags.count) * tagSize, "alloc_tags section size")
        for (i, t) in model.kernelTags.enumerated() {
            writeTag(kernelStart + UInt64(i) * tagSize, t, counters: counterOffset(i))
        }

        // brd's tags in the last page of its data memory, their strings after them.
        let moduleStart = module.dataBase + 2 * MachineLayout.pageSize
        var strings = moduleStart + UInt64(model.moduleTags.count) * tagSize
        var interned: [String: UInt64] = [:]
        func string(_ s: String) -> UInt64 {
            if let va = interned[s] { return va }
            let va = strings
            kmem.writeString(va, s)
            strings += UInt64(s.utf8.count + 1)
            interned[s] = va
            return va
        }
        for (i, t) in model.moduleTags.enumerated() {
            let at = moduleStart + UInt64(i) * tagSize
            let ct = at + L.offset("alloc_tag", "ct")
            kmem.writeU32(ct + L.offset("codetag", "lineno"), UInt32(t.line))
            kmem.writeU64(ct + L.offset("codetag", "modname"), string(t.module ?? ""))
            kmem.writeU64(ct + L.offset("codetag", "function"), string(t.function))
            kmem.writeU64(ct + L.offset("codetag", "filename"), string(t.filename))
            writeTag(at, t, counters: counterOffset(model.kernelTags.count + i))
        }
        precondition(strings < module.dataBase + module.dataSize - 64, "brd data memory too small for its tags")
        let moduleStop = moduleStart + UInt64(model.moduleTags.count) * tagSize
        let mod = module.dataBase
        kmem.writeU64(mod + L.offset("module", "percpu"), counterOffset(model.kernelTags.count))
        kmem.writeU32(mod + L.offset("module", "percpu_size"), UInt32(UInt64(model.moduleTags.count) * counterSize))

        // codetag_register_type, then codetag_module_init for the image and for brd.
        let cttype = heap.alloc(Int(L.size("codetag_type")), align: 8)
        let cmods = [(module: UInt64(0), start: kernelStart, stop: kernelStop), (module: mod, start: moduleStart, stop: moduleStop)]
            .map { m -> UInt64 in
                let cmod = heap.alloc(Int(L.size("codetag_module")), align: 8)
                kmem.writeU64(cmod + L.offset("codetag_module", "mod"), m.module)
                kmem.writeU64(cmod + L.offset("codetag_module", "range") + L.offset("codetag_range", "start"), m.start)
                kmem.writeU64(cmod + L.offset("codetag_module", "range") + L.offset("codetag_range", "stop"), m.stop)
                return cmod
            }
        for (seq, cmod) in cmods.enumerated() { kmem.writeU64(cmod + L.offset("codetag_module", "mod_seq"), UInt64(seq + 1)) }
        let idr = cttype + L.offset("codetag_type", "mod_idr")
        let root = idr + L.offset("idr", "idr_rt")
        // Two ids need a node (a lone entry at index 0 would sit in xa_head itself).
        let node = heap.alloc(Int(L.size("xa_node")), align: 8)
        kmem.write(node + L.offset("xa_node", "shift"), [0])
        kmem.write(node + L.offset("xa_node", "count"), [UInt8(cmods.count)])
        kmem.writeU64(node + L.offset("xa_node", "array"), root)
        for (id, cmod) in cmods.enumerated() { kmem.writeU64(node + L.offset("xa_node", "slots") + UInt64(id) * 8, cmod) }
        // IDR_FREE (mark 0) is set on the slots still free.
        kmem.writeU64(node + L.offset("xa_node", "marks"), ~((UInt64(1) << UInt64(cmods.count)) - 1))
        kmem.writeU32(root + L.offset("xarray", "xa_flags"), 4)      // ROOT_IS_IDR
        kmem.writeU64(root + L.offset("xarray", "xa_head"), node | 2)
        kmem.writeU32(idr + L.offset("idr", "idr_next"), UInt32(cmods.count))

        let section = heap.alloc(16, align: 8)
        kmem.writeString(section, "alloc_tags")
        let desc = cttype + L.offset("codetag_type", "desc")
        kmem.writeU64(desc + L.offset("codetag_type_desc", "section"), section)
        kmem.writeU64(desc + L.offset("codetag_type_desc", "tag_size"), tagSize)
        kmem.writeU32(cttype + L.offset("codetag_type", "count"), UInt32(all.count))
        kmem.writeU64(cttype + L.offset("codetag_type", "next_mod_seq"), UInt64(cmods.count + 1))
        let link = cttype + L.offset("codetag_type", "link")
        let types = sym("codetag_types")
        kmem.writeU64(link, types)
        kmem.writeU64(link + 8, types)
        kmem.writeU64(types, link)
        kmem.writeU64(types + 8, link)
        kmem.writeU64(sym("alloc_tag_cttype"), cttype)
        kmem.writeU32(sym("mem_alloc_profiling_key"), 1)
    }
}
