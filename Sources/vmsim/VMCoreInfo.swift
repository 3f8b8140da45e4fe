/// The VMCOREINFO note text, in the order and formats 6.12's crash_save_vmcoreinfo_init and
/// arch_crash_save_vmcoreinfo (x86_64; arm64's of 6.1 or 6.12) write it, plus CRASHTIME
/// appended at crash time.
extension Simulator {
    func vmcoreinfoText() -> String {
        let L = layouts!
        var s = ""
        func line(_ t: String) { s += t + "\n" }
        func hex(_ v: UInt64) -> String { String(v, radix: 16) }
        func symbol(_ n: String) { line("SYMBOL(\(n))=\(hex(sym(n)))") }
        line("OSRELEASE=\(KernelDeclarations.release)")
        if profile.version >= 510 { line("BUILD-ID=\(buildID())") }
        line("PAGESIZE=\(platform.pageSize)")
        symbol("init_uts_ns")
        line("OFFSET(uts_namespace.name)=\(L.offset("uts_namespace", "name"))")
        symbol("node_online_map")
        line("SYMBOL(swapper_pg_dir)=\(hex(sym(platform.pageTableRoot)))")
        symbol("_stext")
        if profile.version >= 612 { line("NUMBER(VMALLOC_START)=0x\(hex(layout.vmallocBase))") }
        if !memoryModel.isNUMA {
            symbol("mem_map")
            symbol("contig_page_data")
        }
        if memoryModel.isSparse {
            if profile.version >= 608 && memoryModel.hasVmemmap { line("SYMBOL(vmemmap)=\(hex(layout.vmemmapBase))") }
            // SYMBOL_ARRAY: the pointer's value with EXTREME, the static array's address without.
            let table = memoryModel == .sparseStatic ? sym("mem_section") : kmemRead(sym("mem_section"))
            line("SYMBOL(mem_section)=\(hex(table))")
            line("LENGTH(mem_section)=\(memoryModel.sectionRoots)")
            line("SIZE(mem_section)=\(L.size("mem_section"))")
            line("OFFSET(mem_section.section_mem_map)=\(L.offset("mem_section", "section_mem_map"))")
            line("NUMBER(SECTION_SIZE_BITS)=\(platform.sectionShift)")
            line("NUMBER(MAX_PHYSMEM_BITS)=\(platform.maxPhysmemBits)")
        }
        for t in ["page", "pglist_data", "zone", "free_area", "list_head", "nodemask_t"] { line("SIZE(\(t))=\(L.size(t))") }
        for f in ["flags", "_refcount", "mapping", "lru", "_mapcount", "private", "compound_head"] {
            line("OFFSET(page.\(f))=\(L.offset("page", f))")
        }
        for f in ["node_zones", "nr_zones", "node_start_pfn", "node_spanned_pages", "node_id"] {
            line("OFFSET(pglist_data.\(f))=\(L.offset("pglist_data", f))")
        }
        for f in ["free_area", "vm_stat", "spanned_pages"] { line("OFFSET(zone.\(f))=\(L.offset("zone", f))") }
        line("OFFSET(free_area.free_list)=\(L.offset("free_area", "free_list"))")
        line("OFFSET(list_head.next)=\(L.offset("list_head", "next"))")
        line("OFFSET(list_head.prev)=\(L.offset("list_head", "prev"))")
        line("LENGTH(zone.free_area)=\(L["LENGTH(zone.free_area)"])")
        line("LENGTH(free_area.free_list)=\(L["LENGTH(free_area.free_list)"])")
        line("NUMBER(NR_FREE_PAGES)=0")
        let flagBits = profile.oldPageFlags ? PageFlagLayout.old : PageFlagLayout.new
        for f in ["lru", "private", "swapcache", "swapbacked"] {
            line("NUMBER(PG_\(f))=\(flagBits.bit(f == "swapcache" ? "owner_priv_1" : f)!)")
        }
        if profile.pageTypeTopByte {
            line("NUMBER(PAGE_SLAB_MAPCOUNT_VALUE)=\(Int32(bitPattern: 0xf500_0000))")
            line("NUMBER(PG_head_mask)=\(1 << flagBits.bit("head")!)")
            line("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=\(Int32(bitPattern: 0xf000_0000))")
            line("NUMBER(PAGE_HUGETLB_MAPCOUNT_VALUE)=\(Int32(bitPattern: 0xf400_0000))")
            line("NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=\(Int32(bitPattern: 0xf100_0000))")
        } else {
            // ≤6.10: PG_buddy/PG_offline are bits cleared in a -1 page_type; slab is a page flag.
            if let slab = flagBits.bit("slab") { line("NUMBER(PG_slab)=\(slab)") }
            line("NUMBER(PG_head_mask)=\(1 << flagBits.bit("head")!)")
            line("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=\(~0x80)")
            line("NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=\(~0x100)")
        }
        if profile.version >= 601 {
            for k in ["kallsyms_names", "kallsyms_num_syms", "kallsyms_token_table", "kallsyms_token_index",
                      "kallsyms_offsets", "kallsyms_relative_base"] { symbol(k) }
        }
        if let a = layout.arm64 {
            s += arm64Lines(a)
            line("CRASHTIME=\(crashTime)")
            return s
        }
        line("NUMBER(phys_base)=\(Int64(bitPattern: layout.physBase))")
        symbol("init_top_pgt")
        line("NUMBER(pgtable_l5_enabled)=0")
        if memoryModel.isNUMA {
            symbol("node_data")
            line("LENGTH(node_data)=64")
        }
        line("KERNELOFFSET=\(hex(layout.kernelOffset))")
        line("NUMBER(KERNEL_IMAGE_SIZE)=1073741824")
        line("NUMBER(sme_mask)=0")
        line("CRASHTIME=\(crashTime)")
        return s
    }

    /// arm64's arch_crash_save_vmcoreinfo (arch/arm64/kernel/crash_core.c in 6.1,
    /// vmcore_info.c in 6.12): VA_BITS in decimal, the rest in 0x-hex; VMALLOC_START is
    /// printed here up to 6.11 (the generic part prints it from 6.12).
    private func arm64Lines(_ a: ARM64Layout) -> String {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        var s = "NUMBER(VA_BITS)=\(a.vaBits)\n"
        s += "NUMBER(MODULES_VADDR)=\(hex(a.modulesVaddr))\n"
        s += "NUMBER(MODULES_END)=\(hex(a.modulesEnd))\n"
        if profile.version < 612 { s += "NUMBER(VMALLOC_START)=\(hex(a.vmallocStart))\n" }
        s += "NUMBER(VMALLOC_END)=\(hex(a.vmallocEnd))\n"
        s += "NUMBER(VMEMMAP_START)=\(hex(a.vmemmapStart))\n"
        s += "NUMBER(VMEMMAP_END)=\(hex(a.vmemmapEnd))\n"
        s += "NUMBER(kimage_voffset)=\(hex(a.kimageVoffset))\n"
        s += "NUMBER(PHYS_OFFSET)=\(hex(a.physOffset))\n"
        s += "NUMBER(TCR_EL1_T1SZ)=\(hex(a.tcrT1SZ))\n"
        s += "KERNELOFFSET=\(String(a.kaslrOffset, radix: 16))\n"
        s += "NUMBER(KERNELPACMASK)=\(hex(a.pacMask))\n"
        return s
    }

    /// The GNU build-id of the vmlinux gcc wrote.
    func buildID() -> String {
        guard let n = image.section(".notes") else { return "" }
        let o = Int(n.offset)
        guard let namesz = try? image.u32(o), let descsz = try? image.u32(o + 4) else { return "" }
        let d = o + 12 + Int((namesz + 3) & ~3)
        guard d + Int(descsz) <= image.bytes.count else { return "" }
        return image.bytes[d..<(d + Int(descsz))].map { String(format2($0)) }.joined()
    }

    private func format2(_ b: UInt8) -> String {
        let h = String(b, radix: 16)
        return h.count == 1 ? "0" + h : h
    }

    /// A value this simulator already wrote into kernel memory.
    func kmemRead(_ va: UInt64) -> UInt64 {
        guard let pa = kmem.physical(of: va) else { return 0 }
        return phys.readU64(physical: pa)
    }
}
