import ArgumentParser

/// The machine vmsim simulates (`--arch`, `--granule`, `--va-bits`): x86_64 (4 KiB pages,
/// 4-level tables) or arm64 with one of its three translation granules and VA sizes. Every
/// number that follows from the page size comes from here; the x86_64 values are those the
/// simulator always had. The arm64 facts are from arch/arm64 of Linux 6.1 and 6.12
/// (asm/memory.h, asm/pgtable-hwdef.h, asm/sparsemem.h, Kconfig ARCH_FORCE_MAX_ORDER).
struct Platform: Equatable {
    enum Arch: String, CaseIterable, ExpressibleByArgument {
        case x86_64
        case arm64
    }

    let arch: Arch
    /// PAGE_SHIFT: 12, 14 or 16.
    let pageShift: UInt64
    /// CONFIG_ARM64_VA_BITS (48 on x86_64), also vabits_actual: the simulated CPU has LPA2/LVA.
    let vaBits: UInt64

    static let x86_64 = Platform(arch: .x86_64, pageShift: 12, vaBits: 48)

    /// Set once by main before anything is built, like KernelProfile.current.
    nonisolated(unsafe) static var current = Platform.x86_64

    /// The VA sizes arm64's Kconfig offers per granule (ARM64_VA_BITS_*), 36-bit 16K aside.
    static func allowedVABits(pageShift: UInt64) -> [UInt64] {
        switch pageShift {
        case 12: return [39, 48, 52]
        case 14: return [47, 48, 52]
        default: return [42, 48, 52]
        }
    }

    var isARM64: Bool { arch == .arm64 }
    var pageSize: UInt64 { 1 << pageShift }
    var pageMask: UInt64 { pageSize - 1 }

    /// SECTION_SIZE_BITS: 27, and 29 for arm64's 64 KiB pages (asm/sparsemem.h, 5.12+).
    var sectionShift: UInt64 { isARM64 && pageShift == 16 ? 29 : 27 }
    var pagesPerSection: UInt64 { 1 << (sectionShift - pageShift) }
    /// pageblock_order = HUGETLB_PAGE_ORDER = PMD_SHIFT - PAGE_SHIFT: 9, 11, 13.
    var pageblockOrder: UInt64 { pageShift - 3 }
    var pageblocksPerSection: UInt64 { 1 << (sectionShift - pageShift - pageblockOrder) }
    /// MAX_PAGE_ORDER (6.8+; MAX_ORDER - 1 before): x86 10; arm64 10, 11, 13 by granule.
    var maxOrder: UInt64 {
        guard isARM64 else { return 10 }
        return pageShift == 12 ? 10 : pageShift == 14 ? 11 : 13
    }
    /// SUBSECTION_SHIFT is 21 everywhere: 2 MiB subsections, 64 or 256 per section.
    var subsectionsPerSection: UInt64 { 1 << (sectionShift - 21) }
    /// Bytes of struct page (64) for one section: what a section's memmap occupies.
    var memmapBytesPerSection: UInt64 { pagesPerSection * 64 }
    /// mem_sections per root page with SPARSEMEM_EXTREME (PAGE_SIZE / 32).
    var sectionsPerRoot: UInt64 { pageSize / 32 }

    /// 52-bit VA with 4K/16K pages is LPA2 (TCR_EL1.DS); with 64K it is LVA + LPA.
    var isLPA2: Bool { isARM64 && vaBits == 52 && pageShift != 16 }
    var isLPA: Bool { isARM64 && vaBits == 52 && pageShift == 16 }
    /// MAX_PHYSMEM_BITS: x86_64 46 (4-level); arm64 PHYS_MASK_SHIFT, 52 with PA_BITS_52.
    var maxPhysmemBits: UInt64 { isARM64 ? (vaBits == 52 ? 52 : 48) : 46 }

    /// Translation levels: ceil((va_bits - page_shift) / (page_shift - 3)).
    var levels: Int { Int((vaBits - pageShift + (pageShift - 3) - 1) / (pageShift - 3)) }
    /// Entries per table (the top level may have fewer).
    var entriesPerTable: Int { Int(pageSize / 8) }

    /// CONFIG_NODES_SHIFT: x86_64's 6 (MAXSMP-less distribution kernels); arm64's Kconfig
    /// default 4. MAX_NUMNODES is 1 << it (node_data[]'s length in the DWARF).
    var nodesShift: UInt64 { isARM64 ? 4 : 6 }

    /// The kdump header's and init_uts_ns's machine.
    var utsMachine: String { isARM64 ? "aarch64" : "x86_64" }
    /// ELF e_machine: EM_X86_64 62, EM_AARCH64 183.
    var elfMachine: UInt64 { isARM64 ? 183 : 62 }
    /// sizeof(struct elf_prstatus): x86_64 336 (27 registers), arm64 392 (34).
    var prstatusSize: Int { isARM64 ? 392 : 336 }
    /// The page table root symbol: init_top_pgt on x86_64 (VMCOREINFO calls it swapper_pg_dir).
    var pageTableRoot: String { isARM64 ? "swapper_pg_dir" : "init_top_pgt" }
}
