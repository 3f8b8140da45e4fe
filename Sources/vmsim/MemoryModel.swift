import ArgumentParser

/// How the simulated kernel finds a pfn's struct page, page_ext slot and pageblock flags
/// (`--memory-model`). x86_64 kernels are built with the first (by default) or the second
/// (SPARSEMEM_VMEMMAP=n); the other two are what other configurations (SPARSEMEM_STATIC,
/// FLATMEM on small or 32-bit machines) keep, simulated on the same machine so that the
/// reader's other memory models are tested on real bytes.
enum MemoryModel: String, CaseIterable, ExpressibleByArgument {
    /// SPARSEMEM_EXTREME + SPARSEMEM_VMEMMAP: `struct mem_section **mem_section`, a root page
    /// per 128 sections, struct pages in vmemmap.
    case sparseExtreme = "sparse-extreme"
    /// SPARSEMEM_EXTREME without VMEMMAP: each section's struct pages are an array in the
    /// direct map that section_mem_map encodes, and page->flags holds the section number.
    case sparseNoVmemmap = "sparse-no-vmemmap"
    /// SPARSEMEM without EXTREME: a static `mem_section[NR_SECTION_ROOTS][1]` array (vmemmap kept).
    case sparseStatic = "sparse-static"
    /// FLATMEM without NUMA: one `mem_map` for every pfn below max_mapnr, `contig_page_data`
    /// with `node_mem_map` and `node_page_ext`, pageblock flags per zone.
    case flat = "flat"

    /// The model the C text and the generators are made for. Set once by main before anything
    /// is built, like KernelProfile.current.
    nonisolated(unsafe) static var current = MemoryModel.sparseExtreme

    var isSparse: Bool { self != .flat }
    var hasVmemmap: Bool { self == .sparseExtreme || self == .sparseStatic }
    /// FLATMEM here means !NUMA: no node_data[], no node field in page->flags.
    var isNUMA: Bool { isSparse }

    /// NR_SECTION_ROOTS for SPARSEMEM: NR_MEM_SECTIONS (2^(46-27)) over SECTIONS_PER_ROOT
    /// (128 with EXTREME: a 4 KiB page of 32-byte mem_sections; 1 without).
    /// arm64: 2^(MAX_PHYSMEM_BITS - SECTION_SIZE_BITS) sections, PAGE_SIZE / 32 per root.
    var sectionRoots: UInt64 {
        let p = Platform.current
        if p.isARM64 { return (1 << (p.maxPhysmemBits - p.sectionShift)) / p.sectionsPerRoot }
        return self == .sparseStatic ? 1 << 19 : 4096
    }

    /// The largest machine the model is simulated for: FLATMEM keeps mem_map and page_ext in
    /// two physically contiguous arrays taken from the first RAM range below 3 GiB.
    var maxMemoryBytes: UInt64 { self == .flat ? 16 << 30 : 1 << 40 }
}

/// The C declarations that differ between the memory models, spliced into the kernel's
/// types and globals where the real headers put them.
extension MemoryModel {
    /// struct zone: FLATMEM keeps the zone's pageblock bitmap in the zone itself.
    var zoneFields: String { isSparse ? "" : "\tunsigned long *pageblock_flags;\n" }

    /// pglist_data: FLATMEM's node-wide mem_map and page_ext arrays.
    var pgdatFields: String {
        isSparse ? "" : "\tstruct page *node_mem_map;\n\tstruct page_ext *node_page_ext;\n"
    }

    /// struct mem_section and its usage map exist with SPARSEMEM only.
    var sectionTypes: String {
        guard isSparse else { return "" }
        return """
/* ---- SPARSEMEM ---- */
enum {
\tSECTION_MARKED_PRESENT_BIT,
\tSECTION_HAS_MEM_MAP_BIT,
\tSECTION_IS_ONLINE_BIT,
\tSECTION_IS_EARLY_BIT,
\tSECTION_MAP_LAST_BIT,
};

struct mem_section_usage {
\tstruct callback_head rcu;
\tunsigned long subsection_map[\(Platform.current.subsectionsPerSection / 64)];
\tunsigned long pageblock_flags[0];
};

struct page_ext;
struct mem_section {
\tunsigned long section_mem_map;
\tstruct mem_section_usage *usage;
\tstruct page_ext *page_ext;
\tunsigned long pad;
};


"""
    }

    /// The globals that find nodes and memory maps.
    var globals: String {
        switch self {
        case .sparseExtreme, .sparseNoVmemmap:
            return "struct pglist_data *node_data[MAX_NUMNODES];\nstruct mem_section **mem_section;\n"
        case .sparseStatic:
            return "struct pglist_data *node_data[MAX_NUMNODES];\nstruct mem_section mem_section[\(sectionRoots)][1];\n"
        case .flat:
            return "struct pglist_data contig_page_data;\nstruct page *mem_map;\nunsigned long max_mapnr;\n"
        }
    }
}
