/// The kernel's printf conversions page_owner uses, implemented for vmsim: %#x, %pGg, %pGp
/// (lib/vsprintf.c semantics) and the name tables they print from (same values as the C
/// tables in KernelGlobals.swift).
enum KernelFormat {
    /// gfpflag_names[] of the profile: ≤6.3 has ___GFP_ATOMIC (0x200), part of GFP_ATOMIC.
    static var gfpNames: [(UInt64, String)] { KernelProfile.current.hasGfpAtomic ? gfpNamesWithAtomic : gfpNames612 }

    static let gfpNamesWithAtomic: [(UInt64, String)] = gfpNames612.flatMap { entry -> [(UInt64, String)] in
        switch entry.1 {
        case "GFP_ATOMIC": return [(entry.0 | 0x200, entry.1)]
        case "__GFP_HIGH": return [entry, (0x200, "__GFP_ATOMIC")]
        default: return [entry]
        }
    }

    static let gfpNames612: [(UInt64, String)] = {
        let g = GFP.self
        return [
            (UInt64(g.transhuge), "GFP_TRANSHUGE"),
            (UInt64(g.transhuge & ~g.directReclaim), "GFP_TRANSHUGE_LIGHT"),
            (UInt64(g.highuserMovable), "GFP_HIGHUSER_MOVABLE"),
            (UInt64(g.user | g.highmem), "GFP_HIGHUSER"),
            (UInt64(g.user), "GFP_USER"),
            (UInt64(g.kernelAccount), "GFP_KERNEL_ACCOUNT"),
            (UInt64(g.kernel), "GFP_KERNEL"),
            (UInt64(g.reclaim | g.io), "GFP_NOFS"),
            (UInt64(g.high | g.kswapdReclaim), "GFP_ATOMIC"),
            (UInt64(g.reclaim), "GFP_NOIO"),
            (UInt64(g.nowait), "GFP_NOWAIT"),
            (0x01, "GFP_DMA"), (0x02, "__GFP_HIGHMEM"), (0x04, "GFP_DMA32"), (0x20, "__GFP_HIGH"),
            (0x40, "__GFP_IO"), (0x80, "__GFP_FS"), (0x2000, "__GFP_NOWARN"), (0x4000, "__GFP_RETRY_MAYFAIL"),
            (0x8000, "__GFP_NOFAIL"), (0x10000, "__GFP_NORETRY"), (0x40000, "__GFP_COMP"), (0x100, "__GFP_ZERO"),
            (0x80000, "__GFP_NOMEMALLOC"), (0x20000, "__GFP_MEMALLOC"), (0x100000, "__GFP_HARDWALL"),
            (0x200000, "__GFP_THISNODE"), (0x10, "__GFP_RECLAIMABLE"), (0x08, "__GFP_MOVABLE"),
            (0x400000, "__GFP_ACCOUNT"), (0x1000, "__GFP_WRITE"), (0xc00, "__GFP_RECLAIM"),
            (0x400, "__GFP_DIRECT_RECLAIM"), (0x800, "__GFP_KSWAPD_RECLAIM"), (0x800000, "__GFP_ZEROTAGS"),
        ]
    }()

    static let pageFlagNamesOld = PageFlagLayout.old.names
    static let pageFlagNamesNew = PageFlagLayout.new.names
    static var pageFlagNames: [(UInt64, String)] { KernelProfile.current.oldPageFlags ? pageFlagNamesOld : pageFlagNamesNew }

    static let migratetypeNames = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"]
    static let migrateReasonNames = ["compaction", "memory_failure", "memory_hotplug", "syscall_or_cpuset",
                                     "mempolicy_mbind", "numa_misplaced", "contig_range", "longterm_pin",
                                     "demotion", "damon"]

    /// %#x / %#lx: the kernel prints 0x0 for zero.
    static func hexSpecial(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// format_flags(): names whose whole mask is set, '|' between, leftover bits in %#lx.
    static func flagNames(_ value: UInt64, _ names: [(UInt64, String)]) -> String {
        var flags = value
        var out = ""
        for (mask, name) in names {
            if flags == 0 { break }
            if flags & mask != mask { continue }
            out += name
            flags &= ~mask
            if flags != 0 { out += "|" }
        }
        if flags != 0 { out += hexSpecial(flags) }
        return out
    }

    static func gfp(_ mask: UInt32) -> String { flagNames(UInt64(mask), gfpNames) }

    /// `Flags …` of line 2 for this kernel: section (without VMEMMAP), node (NUMA) and zone
    /// fields, no lastcpupid. ≤5.13 prints `%#lx(` + names only + `)`; 5.14–5.15
    /// `%#lx(` + names and fields + `)`; 5.16+ `%pGp` = `0x…(` + names and fields + `)`, the
    /// same text.
    static func pageFlags(_ flags: UInt64) -> String {
        let p = KernelProfile.current
        let main = flags & ((1 << UInt64(PageFlagLayout.current.count)) - 1)
        var out = hexSpecial(flags) + "("
        var append = false
        if main != 0 {
            out += flagNames(main, pageFlagNames)
            append = true
        }
        if p.pageFlagsNamesOnly { return out + ")" }
        let fields = [("section", PageFlag.sectionsShift, PageFlag.sectionsWidth), ("node", PageFlag.nodesShift, PageFlag.nodesWidth),
                      ("zone", PageFlag.zonesShift, UInt64(2))].filter { $0.2 > 0 }
        for (name, shift, width) in fields {
            let mask = (UInt64(1) << width) - 1
            if append { out += "|" }
            out += "\(name)=\((flags >> shift) & mask)"
            append = true
        }
        return out + ")"
    }
}
