/// The allocation tags of the simulated kernel (CONFIG_MEM_ALLOC_PROFILING) and what each
/// had counted at the crash, per CPU. The call sites are vmsim's own inventions in the style
/// of a 6.12 kernel (file, line, function); the list is fixed so that vmlinux stays the same
/// for every seed, while the counters come from the seed and, for brd's page allocations and
/// the tmpfs writes, from the workload itself.
struct AllocTagModel {
    struct Tag {
        let filename: String
        let line: Int
        let function: String
        /// nil for the kernel image, else the module (brd).
        let module: String?
        /// CODETAG_FLAG_INACCURATE: printed as ` accurate:no` from 6.18.
        var inaccurate = false
        /// Per possible CPU: the bytes and calls that CPU's counter holds. A CPU that freed
        /// more than it allocated holds a "negative" u64; only the sum means anything.
        var perCPU: [(bytes: UInt64, calls: UInt64)] = []

        var bytes: Int64 { Int64(bitPattern: perCPU.reduce(0) { $0 &+ $1.bytes }) }
        var calls: UInt64 { perCPU.reduce(0) { $0 &+ $1.calls } }
    }

    /// The image's tags in their order in the `alloc_tags` section, then brd's.
    private(set) var kernelTags: [Tag]
    private(set) var moduleTags: [Tag]
    var all: [Tag] { kernelTags + moduleTags }

    /// (file, line, function, the size one call typically allocates; 0: never allocated).
    static let kernelSites: [(String, Int, String, UInt64)] = [
        ("init/main.c", 1341, "do_initcalls", 0),
        ("init/initramfs.c", 493, "unpack_to_rootfs", 0),
        ("arch/x86/kernel/setup_percpu.c", 114, "pcpu_fc_alloc", 0),
        ("mm/memory.c", 1077, "folio_prealloc", 4096),
        ("mm/memory.c", 4531, "alloc_anon_folio", 16384),
        ("mm/filemap.c", 1977, "__filemap_get_folio", 4096),
        ("mm/readahead.c", 259, "page_cache_ra_unbounded", 16384),
        ("mm/shmem.c", 1794, "shmem_alloc_folio", 4096),
        ("mm/huge_memory.c", 1165, "vma_alloc_anon_folio_pmd", 2 << 20),
        ("mm/slub.c", 2432, "alloc_slab_page", 8192),
        ("mm/percpu.c", 512, "pcpu_mem_zalloc", 48),
        ("mm/percpu-vm.c", 95, "pcpu_alloc_pages", 4096),
        ("mm/vmalloc.c", 3648, "__vmalloc_area_node", 4096),
        ("mm/page_ext.c", 271, "alloc_page_ext", 0),
        ("mm/pgtable-generic.c", 304, "pte_alloc_one", 4096),
        ("kernel/fork.c", 311, "alloc_thread_stack_node", 16384),
        ("kernel/fork.c", 1070, "mm_alloc", 1344),
        ("kernel/workqueue.c", 4845, "alloc_unbound_pwq", 512),
        ("fs/dcache.c", 1681, "__d_alloc", 192),
        ("fs/inode.c", 261, "alloc_inode", 1024),
        ("fs/pipe.c", 502, "pipe_write", 4096),
        ("fs/ext4/super.c", 1393, "ext4_alloc_inode", 1176),
        ("fs/jbd2/journal.c", 2765, "jbd2_alloc", 4096),
        ("lib/xarray.c", 378, "xas_alloc", 576),
        ("net/core/skbuff.c", 658, "kmalloc_reserve", 1024),
        ("net/core/sock.c", 3021, "skb_page_frag_refill", 32768),
        ("block/blk-mq.c", 3540, "blk_mq_alloc_rqs", 4096),
        ("kernel/cgroup/cgroup.c", 5655, "css_create", 2048),
    ]
    static let moduleSites: [(String, Int, String, UInt64)] = [
        ("drivers/block/brd.c", 80, "brd_insert_page", 4096),
        ("drivers/block/brd.c", 321, "brd_alloc", 1024),
        ("drivers/block/brd.c", 330, "brd_alloc", 0),
    ]

    init(profile: KernelProfile, seed: UInt64, cpus: Int, ramBytes: UInt64, brdPages: Int, shmemPages: Int) {
        var rng = SeededRandom(seed: seed ^ 0xa110_c7a9)
        func tag(_ site: (String, Int, String, UInt64), module: String?, calls fixed: Int? = nil) -> Tag {
            var t = Tag(filename: site.0, line: site.1, function: site.2, module: module)
            // The table's 4096 is "one page": PAGE_SIZE bytes on the simulated machine.
            let site = (site.0, site.1, site.2, site.3 == 4096 ? MachineLayout.pageSize : site.3)
            // Invented counts stay within a 32nd of RAM per site.
            let invented = min(1 + rng.below(rng.chance(20) ? 20_000 : 600), max(1, ramBytes / 32 / max(site.3, 1)))
            let calls: UInt64 = site.3 == 0 ? 0 : fixed.map { UInt64($0) } ?? invented
            let bytes = calls &* site.3
            // Spread over the CPUs; some frees ran on another CPU than the allocations.
            var rest = (bytes: bytes, calls: calls)
            for cpu in 0..<cpus {
                if cpu == cpus - 1 {
                    t.perCPU.append(rest)
                } else {
                    let c = calls == 0 ? 0 : rng.below(calls + calls / 2 + 2)
                    let b = c &* site.3
                    t.perCPU.append((b, c))
                    rest = (rest.bytes &- b, rest.calls &- c)
                }
            }
            return t
        }
        kernelTags = Self.kernelSites.map { site in
            tag(site, module: nil, calls: site.2 == "shmem_alloc_folio" ? shmemPages : nil)
        }
        moduleTags = Self.moduleSites.map { site in
            tag(site, module: "brd", calls: site.2 == "brd_insert_page" ? brdPages : (site.3 == 0 ? nil : 1))
        }
        // 6.18+ marks tags whose counts missed allocations (e.g. made before profiling was on).
        if profile.printsInaccurateTags, let i = kernelTags.firstIndex(where: { $0.function == "pcpu_mem_zalloc" }) {
            kernelTags[i].inaccurate = true
        }
    }

    /// /proc/allocinfo as lib/alloc_tag.c prints it: the header, then per tag `%12lli %8llu `,
    /// `file:line [module] func:name` (codetag_to_text), ` accurate:no` (6.18+), " \n".
    func allocinfoText(version: String, printsInaccurate: Bool) -> String {
        var out = "allocinfo - version: \(version)\n#     <size>  <calls> <tag info>\n"
        for t in all {
            out += rightAligned(String(t.bytes), 12) + " " + rightAligned(String(t.calls), 8) + " "
            out += t.filename + ":" + String(t.line) + (t.module.map { " [\($0)]" } ?? "") + " func:" + t.function
            if printsInaccurate && t.inaccurate { out += " accurate:no" }
            out += " \n"
        }
        return out
    }

    private func rightAligned(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
