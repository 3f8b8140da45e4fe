/// Kernel objects outside the big arrays: the stack depot, memory cgroups, the brd module and
/// the globals of the image.
extension Simulator {
    /// Stack records in their pools, the hash table (static array, pointer array or list_heads
    /// by generation), the pool globals, page_owner's stack_list (6.9+).
    func writeDepot(stackTable: (va: UInt64, buckets: Int)) {
        let depot = workload.depot
        let p = profile
        let mask = UInt64(stackTable.buckets - 1)
        // Buckets hold their records newest first (list_add / push at the head).
        var chains: [UInt64: [Int]] = [:]
        for i in depot.records.indices.reversed() { chains[UInt64(depot.records[i].hash) & mask, default: []].append(i) }
        func header(_ r: StackDepotModel.Record) -> [UInt8] {
            le(UInt64(r.hash), 4) + le(UInt64(r.entries.count), 4) + le(UInt64(r.handle), 4)
                + (p.recordHasCount ? le(UInt64(r.count), 4) : le(0, 4))
        }
        if p.recordLayout == .hashList {
            var table = [UInt8](repeating: 0, count: stackTable.buckets * 16)
            func put(_ o: Int, _ v: UInt64) { for k in 0..<8 { table[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) } }
            for b in 0..<stackTable.buckets {
                let head = stackTable.va + UInt64(b) * 16
                let list = chains[UInt64(b)] ?? []
                let addrs = list.map { depot.address(of: $0) }
                put(b * 16, addrs.first ?? head)
                put(b * 16 + 8, addrs.last ?? head)
                for (j, i) in list.enumerated() {
                    let r = depot.records[i]
                    var bytes = le(j + 1 < addrs.count ? addrs[j + 1] : head, 8) + le(j > 0 ? addrs[j - 1] : head, 8)
                    bytes += header(r)
                    for e in r.entries { bytes += le(e, 8) }
                    kmem.write(addrs[j], bytes)
                }
            }
            kmem.write(stackTable.va, table)
        } else {
            // ≤6.7: buckets are `struct stack_record *` heads of `next` chains.
            for (b, list) in chains {
                let addrs = list.map { depot.address(of: $0) }
                kmem.writeU64(stackTable.va + b * 8, addrs[0])
                for (j, i) in list.enumerated() {
                    var bytes = le(j + 1 < addrs.count ? addrs[j + 1] : 0, 8) + header(depot.records[i])
                    for e in depot.records[i].entries { bytes += le(e, 8) }
                    kmem.write(addrs[j], bytes)
                }
            }
        }
        var pools = sym(p.poolArrayName)
        if p.poolsPointer {
            // 6.16+: kvcalloc'd array of stack_max_pools pointers.
            let array = heap.alloc(StackDepotModel.maxPools * 8, align: 64)
            kmem.writeU64(pools, array)
            pools = array
        }
        for (i, va) in depot.poolAddresses.enumerated() { kmem.writeU64(pools + UInt64(i) * 8, va) }
        let n = depot.poolAddresses.count
        kmem.writeU32(sym(p.poolCounterName), UInt32(p.poolCounterIsCount ? n : max(n - 1, 0)))
        kmem.writeU64(sym(p.poolOffsetName), UInt64(depot.poolOffset))
        if p.tableKind != .staticArray { kmem.writeU64(sym("stack_table"), stackTable.va) }
        if p.tableKind == .pointerWithMask || p.tableKind == .listHeads { kmem.writeU32(sym("stack_hash_mask"), UInt32(mask)) }
        kmem.writeU32(sym("dummy_handle"), workload.dummyHandle)
        kmem.writeU32(sym("failure_handle"), workload.failureHandle)
        kmem.writeU32(sym("early_handle"), workload.earlyHandle)
        if p.hasStackList { writeStackList() }
        if p.swapPageOwner { try? SwapPageOwnerWriter(sim: self).write() }
    }

    /// page_owner's stack_list (6.9+): kmalloc'd nodes newest first, then dummy_stack ->
    /// failure_stack -> NULL.
    private func writeStackList() {
        let depot = workload.depot
        let dummy = sym("dummy_stack"), failure = sym("failure_stack")
        var next = dummy
        for i in depot.stackList.reversed() {
            let node = heap.alloc(16)
            kmem.writeU64(node, depot.address(of: i))
            kmem.writeU64(node + 8, next)
            next = node
        }
        kmem.writeU64(sym("stack_list"), next)
        func recordVA(_ h: UInt32) -> UInt64 {
            guard let idx = depot.records.firstIndex(where: { $0.handle == h }) else { return 0 }
            return depot.address(of: idx)
        }
        kmem.writeU64(dummy, recordVA(workload.dummyHandle))
        kmem.writeU64(dummy + 8, failure)
        kmem.writeU64(failure, recordVA(workload.failureHandle))
    }

    /// kernfs_node -> cgroup -> mem_cgroup (css) <- obj_cgroup, for every simulated cgroup.
    func buildMemcg() {
        var kns: [UInt64] = []
        for cg in workload.cgroups {
            let kn = heap.alloc(Int(layouts.size("kernfs_node")), align: 8)
            let name = heap.alloc(cg.name.utf8.count + 1, align: 8)
            let cgroup = heap.alloc(Int(layouts.size("cgroup")), align: 8)
            let memcg = heap.alloc(Int(layouts.size("mem_cgroup")), align: 64)
            let objcg = heap.alloc(Int(layouts.size("obj_cgroup")), align: 8)
            kmem.writeString(name, cg.name)
            kmem.writeU32(kn + layouts.offset("kernfs_node", "count"), 1)
            kmem.writeU64(kn + layouts.offset("kernfs_node", "parent"), cg.parent.map { kns[$0] } ?? 0)
            kmem.writeU64(kn + layouts.offset("kernfs_node", "name"), name)
            kmem.writeU64(cgroup + layouts.offset("cgroup", "kn"), kn)
            kmem.writeU32(cgroup + layouts.offset("cgroup", "level"), UInt32(level(of: cg)))
            let css = memcg + layouts.offset("mem_cgroup", "css")
            kmem.writeU64(css + layouts.offset("cgroup_subsys_state", "cgroup"), cgroup)
            // CSS_ONLINE (and CSS_NO_REF for the root); an offline css is dying instead.
            let flags: UInt32 = cg.online ? (cg.parent == nil ? 0x3 : 0x2) : 0x10
            kmem.writeU32(css + layouts.offset("cgroup_subsys_state", "flags"), flags)
            if let p = cg.parent {
                kmem.writeU64(css + layouts.offset("cgroup_subsys_state", "parent"), memcgAddresses[p].memcg)
            }
            kmem.writeU64(memcg + layouts.offset("mem_cgroup", "objcg"), objcg)
            kmem.writeU64(objcg + layouts.offset("obj_cgroup", "memcg"), memcg)
            kns.append(kn)
            memcgAddresses.append((memcg, objcg))
        }
        slabVectors = (0..<4).map { _ in heap.alloc(256, align: 8) }
    }

    private func level(of cg: SimCgroup) -> Int {
        var n = 0, p = cg.parent
        while let i = p, n < 64 { n += 1; p = workload.cgroups[i].parent }
        return n
    }

    /// brd's memory (text and data pages mapped in the module area), its struct module with
    /// the mod_kallsyms tables, linked on `modules`.
    func writeModule() {
        let ps = MachineLayout.pageSize
        let textPages = module.textSize / ps
        let pages = textPages + module.dataSize / ps
        var backing: [UInt64] = workload.moduleBlocks.prefix(Int(pages)).map { workload.blocks[$0].pfn << MachineLayout.pageShift }
        while backing.count < Int(pages) { backing.append(memblock.alloc(ps)) }
        for (i, pa) in backing.enumerated() {
            let va = module.textBase + UInt64(i) * ps
            kmem.map(virtualPage: va, toPhysical: pa)
            pageTables.map(va: va, pa: pa, length: ps, executable: UInt64(i) < textPages)
        }
        kmem.write(module.textBase, [UInt8](repeating: 0xcc, count: Int(module.textSize)))

        let mod = module.dataBase
        let symtab = mod + ((layouts.size("module") + 63) & ~63)
        var strtab: [UInt8] = [0], syms: [UInt8] = [UInt8](repeating: 0, count: 24), types: [UInt8] = [0x20]
        for f in module.functions {
            syms += le(UInt64(strtab.count), 4) + [0x02, 0] + le(1, 2) + le(f.address, 8) + le(UInt64(f.size), 8)
            strtab += Array(f.name.utf8) + [0]
            types.append(UInt8(ascii: "t"))
        }
        let rdSize = module.dataBase + module.dataSize - 64
        syms += le(UInt64(strtab.count), 4) + [0x01, 0] + le(2, 2) + le(rdSize, 8) + le(4, 8)
        strtab += Array("rd_size".utf8) + [0]
        types.append(UInt8(ascii: "d"))
        let strVA = symtab + UInt64(syms.count)
        let typeVA = strVA + UInt64(strtab.count)
        kmem.write(symtab, syms)
        kmem.write(strVA, strtab)
        kmem.write(typeVA, types)
        kmem.writeU32(rdSize, 65536)

        let modules = sym("modules")
        let list = mod + layouts.offset("module", "list")
        kmem.writeU32(mod + layouts.offset("module", "state"), 0)
        kmem.writeU64(list, modules)
        kmem.writeU64(list + 8, modules)
        kmem.writeString(mod + layouts.offset("module", "name"), module.name)
        let mem = mod + layouts.offset("module", "mem")
        let mm = layouts.size("module_memory")
        kmem.writeU64(mem + layouts.offset("module_memory", "base"), module.textBase)
        kmem.writeU32(mem + layouts.offset("module_memory", "size"), UInt32(module.textSize))
        kmem.writeU64(mem + mm + layouts.offset("module_memory", "base"), module.dataBase)
        kmem.writeU32(mem + mm + layouts.offset("module_memory", "size"), UInt32(module.dataSize))
        let core = mod + layouts.offset("module", "core_kallsyms")
        kmem.writeU64(core + layouts.offset("mod_kallsyms", "symtab"), symtab)
        kmem.writeU32(core + layouts.offset("mod_kallsyms", "num_symtab"), UInt32(module.functions.count + 2))
        kmem.writeU64(core + layouts.offset("mod_kallsyms", "strtab"), strVA)
        kmem.writeU64(core + layouts.offset("mod_kallsyms", "typetab"), typeVA)
        kmem.writeU64(mod + layouts.offset("module", "kallsyms"), core)
        kmem.writeU32(mod + layouts.offset("module", "refcnt"), 1)
        kmem.writeU64(modules, list)
        kmem.writeU64(modules + 8, list)
    }

    func writeGlobals(stackTable: (va: UInt64, buckets: Int), percpu: [UInt64], memmap: Memmap) {
        let firstPfn = layout.ram[0].start / MachineLayout.pageSize
        if let a = layout.arm64 {
            kmem.writeU64(sym("memstart_addr"), a.physOffset)
            kmem.writeU64(sym("kimage_voffset"), a.kimageVoffset)
            kmem.writeU64(sym("vabits_actual"), a.vaBits)
            kmem.writeU64(sym("min_low_pfn"), firstPfn)
            kmem.writeU64(sym("max_low_pfn"), layout.maxPfn)
        } else {
            kmem.writeU64(sym("page_offset_base"), layout.pageOffsetBase)
            kmem.writeU64(sym("vmalloc_base"), layout.vmallocBase)
            kmem.writeU64(sym("vmemmap_base"), layout.vmemmapBase)
            kmem.writeU64(sym("phys_base"), layout.physBase)
            kmem.writeU64(sym("min_low_pfn"), 0)
            kmem.writeU64(sym("max_low_pfn"), min(layout.maxPfn, 1 << 20))
        }
        kmem.writeU64(sym("max_pfn"), layout.maxPfn)
        // The image is copied as linked: pointers the kernel set at boot are written with the
        // KASLR slide here.
        kmem.writeU64(sym("init_mm") + layouts.offset("mm_struct", "pgd"), sym(Platform.current.pageTableRoot))
        kmem.writeU64(sym("init_task") + layouts.offset("task_struct", "stack"), sym("init_stack"))
        // The kernel builds its VMCOREINFO text at boot in a page of the direct map (crash time
        // appends CRASHTIME there too); the note is a copy of it.
        let text = Array(vmcoreinfoText().utf8)
        phys.write(physical: vmcoreinfoPage, text)
        kmem.writeU64(sym("vmcoreinfo_data"), kmem.directMap(vmcoreinfoPage))
        kmem.writeU64(sym("vmcoreinfo_size"), UInt64(text.count))
        let ramPages = layout.ram.reduce(UInt64(0)) { $0 + ($1.end - $1.start) / MachineLayout.pageSize }
        kmem.writeU64(sym("_totalram_pages"), ramPages)
        for (i, p) in percpu.enumerated() { kmem.writeU64(sym("__per_cpu_offset") + UInt64(i) * 8, p) }
        kmem.writeU32(sym("nr_cpu_ids"), UInt32(percpu.count))
        kmem.writeU64(sym("node_online_map"), 1)
        let hs = sym("hstates")
        // The PMD-sized hstate: order pageblock_order, "hugepages-<PMD_SIZE in kB>kB".
        let hugeOrder = MachineLayout.pageblockOrder
        kmem.writeU32(hs + layouts.offset("hstate", "order"), UInt32(hugeOrder))
        kmem.writeString(hs + layouts.offset("hstate", "name"), "hugepages-\((MachineLayout.pageSize << hugeOrder) >> 10)kB")
        kmem.writeU32(sym("hugetlb_max_hstate"), 1)

        // Node 0 and its zones: node_data[0] with NUMA, the static contig_page_data without.
        let pgdat: UInt64
        if memoryModel.isNUMA {
            pgdat = kmem.directMap(memblock.alloc(layouts.size("pglist_data"), align: 64))
            kmem.writeU64(sym("node_data"), pgdat)
        } else {
            pgdat = sym("contig_page_data")
        }
        var zones: [(va: UInt64, span: ZoneSpan)] = []
        // nr_zones: one past the highest populated zone (DMA alone on small arm64 machines).
        let fourG = (1 << 32) / MachineLayout.pageSize
        let nrZones: UInt32 = layout.maxPfn > fourG ? 3 : platform.isARM64 ? 1 : 2
        kmem.writeU32(pgdat + layouts.offset("pglist_data", "nr_zones"), nrZones)
        let nodeStart = platform.isARM64 ? firstPfn : 0
        kmem.writeU64(pgdat + layouts.offset("pglist_data", "node_start_pfn"), nodeStart)
        kmem.writeU64(pgdat + layouts.offset("pglist_data", "node_present_pages"), ramPages)
        kmem.writeU64(pgdat + layouts.offset("pglist_data", "node_spanned_pages"), layout.maxPfn - nodeStart)
        kmem.writeU32(pgdat + layouts.offset("pglist_data", "node_id"), 0)
        for (z, span) in zoneSpans.enumerated() {
            let zone = pgdat + layouts.offset("pglist_data", "node_zones") + UInt64(z) * layouts.size("zone")
            let nameVA = heap.alloc(span.name.utf8.count + 1, align: 8)
            kmem.writeString(nameVA, span.name)
            kmem.writeU64(zone + layouts.offset("zone", "name"), nameVA)
            kmem.writeU64(zone + layouts.offset("zone", "zone_pgdat"), pgdat)
            kmem.writeU64(zone + layouts.offset("zone", "zone_start_pfn"), span.startPfn)
            kmem.writeU64(zone + layouts.offset("zone", "spanned_pages"), span.spannedPages)
            kmem.writeU64(zone + layouts.offset("zone", "present_pages"), span.presentPages)
            zones.append((zone, span))
        }
        if !memoryModel.isSparse { writeFlatNode(pgdat: pgdat, memmap: memmap, zones: zones) }

        kmem.writeU64(sym("page_ext_size"), pageOwner ? profile.pageExtSize : 0)
        kmem.writeU64(sym("page_owner_ops"), pageOwner ? 8 : 0)
        kmem.writeU32(sym("page_owner_inited"), pageOwner ? 1 : 0)
    }
}
