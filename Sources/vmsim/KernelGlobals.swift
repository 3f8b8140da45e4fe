// The kernel's global variables as C definitions. File-static ones keep `static` (they are
// local symbols in a real vmlinux too) and `used` so that -O0 still emits them.

extension KernelDeclarations {
    /// Room reserved in .rodata for the kallsyms tables, filled after linking.
    static let kallsymsMaxSymbols = 4096
    static let kallsymsNamesBytes = 96 * 1024
    static let kallsymsTokenBytes = 4096

    /// The variables that describe the kernel's virtual layout, per architecture.
    static var layoutGlobals: String {
        let p = Platform.current
        guard p.isARM64 else {
            return """
/* ---- memory layout (x86_64, CONFIG_DYNAMIC_MEMORY_LAYOUT) ---- */
unsigned long page_offset_base = 0xffff888000000000UL;
unsigned long vmalloc_base = 0xffffc90000000000UL;
unsigned long vmemmap_base = 0xffffea0000000000UL;
unsigned long phys_base;
unsigned int __pgtable_l5_enabled;
pgd_t init_top_pgt[512] __page_aligned;

"""
        }
        // arm64: memstart_addr is PHYS_OFFSET (s64, arch/arm64/mm/init.c); swapper_pg_dir is
        // one page in the image (vmlinux.lds.S), whatever its level's entry count.
        return """
/* ---- memory layout (arm64, \(p.pageSize >> 10)K pages, \(p.vaBits)-bit VA) ---- */
s64 memstart_addr;
u64 kimage_voffset;
u64 vabits_actual;
pgd_t swapper_pg_dir[\(p.entriesPerTable)] __page_aligned;

"""
    }

    static var globals: String {
        return #"""
#define __used __attribute__((used))
#define __rodata __attribute__((section(".rodata")))
#define __page_aligned __attribute__((aligned(\#(Platform.current.pageSize))))

#define ___GFP_DMA            0x01u
#define ___GFP_HIGHMEM        0x02u
#define ___GFP_DMA32          0x04u
#define ___GFP_MOVABLE        0x08u
#define ___GFP_RECLAIMABLE    0x10u
#define ___GFP_HIGH           0x20u
#define ___GFP_IO             0x40u
#define ___GFP_FS             0x80u
#define ___GFP_ZERO           0x100u
#define ___GFP_DIRECT_RECLAIM 0x400u
#define ___GFP_KSWAPD_RECLAIM 0x800u
#define ___GFP_WRITE          0x1000u
#define ___GFP_NOWARN         0x2000u
#define ___GFP_RETRY_MAYFAIL  0x4000u
#define ___GFP_NOFAIL         0x8000u
#define ___GFP_NORETRY        0x10000u
#define ___GFP_MEMALLOC       0x20000u
#define ___GFP_COMP           0x40000u
#define ___GFP_NOMEMALLOC     0x80000u
#define ___GFP_HARDWALL       0x100000u
#define ___GFP_THISNODE       0x200000u
#define ___GFP_ACCOUNT        0x400000u
#define ___GFP_ZEROTAGS       0x800000u
#define ___GFP_NO_OBJ_EXT     0x1000000u
#define __GFP_RECLAIM (___GFP_DIRECT_RECLAIM | ___GFP_KSWAPD_RECLAIM)
\#(gfpAtomicDefines)
#define GFP_KERNEL (__GFP_RECLAIM | ___GFP_IO | ___GFP_FS)
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | ___GFP_ACCOUNT)
#define GFP_NOWAIT (___GFP_KSWAPD_RECLAIM | ___GFP_NOWARN)
#define GFP_NOIO (__GFP_RECLAIM)
#define GFP_NOFS (__GFP_RECLAIM | ___GFP_IO)
#define GFP_USER (__GFP_RECLAIM | ___GFP_IO | ___GFP_FS | ___GFP_HARDWALL)
#define GFP_HIGHUSER (GFP_USER | ___GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE (GFP_HIGHUSER | ___GFP_MOVABLE)
#define GFP_TRANSHUGE_LIGHT ((GFP_HIGHUSER_MOVABLE | ___GFP_COMP | ___GFP_NOMEMALLOC | ___GFP_NOWARN) & ~__GFP_RECLAIM)
#define GFP_TRANSHUGE (GFP_TRANSHUGE_LIGHT | ___GFP_DIRECT_RECLAIM)

/* Provided by the assembly part of the image and by the linker script. */
extern char _text[], _stext[], _etext[], _sdata[], _edata[], _end[];
extern bool need_page_owner(void);
extern void init_page_owner(void);

/* ---- identity ---- */
struct uts_namespace init_uts_ns = {
	.name = {
		.sysname = "Linux",
		.nodename = "vmsim",
		.release = "\#(release)",
		.version = "#1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026",
		.machine = "\#(Platform.current.utsMachine)",
		.domainname = "(none)",
	},
};
const char linux_banner[] = "\#(banner.replacingOccurrences(of: "\n", with: "\\n"))";

\#(layoutGlobals)/* ---- the boot task and mm; the kernel's own copy of VMCOREINFO (kernel/vmcore_info.c) ---- */
struct mm_struct init_mm;
struct task_struct init_task;
unsigned long init_stack[2048] __page_aligned;
unsigned char *vmcoreinfo_data;
size_t vmcoreinfo_size;

unsigned long min_low_pfn;
unsigned long max_low_pfn;
unsigned long max_pfn;
atomic_long_t _totalram_pages;
unsigned long __per_cpu_offset[64];
unsigned int nr_cpu_ids = 64;

/* ---- nodes and sections ---- */
\#(MemoryModel.current.globals)nodemask_t node_online_map;
struct hstate hstates[HUGE_MAX_HSTATE];
unsigned int hugetlb_max_hstate;

/* ---- page_ext / page_owner ---- */
unsigned long page_ext_size;
static unsigned long total_usage __used;
bool early_page_ext __used;

struct page_ext_operations page_owner_ops = {
\#(pageOwnerOpsInit)};

\#(pageOwnerGlobals)
/* ---- stack depot ---- */
\#(stackDepotGlobals)
/* ---- modules ---- */
struct list_head modules = { &modules, &modules };

/* ---- name tables the kernel prints from ---- */
const struct trace_print_flags gfpflag_names[] = {
	{ GFP_TRANSHUGE, "GFP_TRANSHUGE" },
	{ GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT" },
	{ GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE" },
	{ GFP_HIGHUSER, "GFP_HIGHUSER" },
	{ GFP_USER, "GFP_USER" },
	{ GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT" },
	{ GFP_KERNEL, "GFP_KERNEL" },
	{ GFP_NOFS, "GFP_NOFS" },
	{ GFP_ATOMIC, "GFP_ATOMIC" },
	{ GFP_NOIO, "GFP_NOIO" },
	{ GFP_NOWAIT, "GFP_NOWAIT" },
	{ ___GFP_DMA, "GFP_DMA" },
	{ ___GFP_HIGHMEM, "__GFP_HIGHMEM" },
	{ ___GFP_DMA32, "GFP_DMA32" },
	{ ___GFP_HIGH, "__GFP_HIGH" },
\#(gfpAtomicName)	{ ___GFP_IO, "__GFP_IO" },
	{ ___GFP_FS, "__GFP_FS" },
	{ ___GFP_NOWARN, "__GFP_NOWARN" },
	{ ___GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL" },
	{ ___GFP_NOFAIL, "__GFP_NOFAIL" },
	{ ___GFP_NORETRY, "__GFP_NORETRY" },
	{ ___GFP_COMP, "__GFP_COMP" },
	{ ___GFP_ZERO, "__GFP_ZERO" },
	{ ___GFP_NOMEMALLOC, "__GFP_NOMEMALLOC" },
	{ ___GFP_MEMALLOC, "__GFP_MEMALLOC" },
	{ ___GFP_HARDWALL, "__GFP_HARDWALL" },
	{ ___GFP_THISNODE, "__GFP_THISNODE" },
	{ ___GFP_RECLAIMABLE, "__GFP_RECLAIMABLE" },
	{ ___GFP_MOVABLE, "__GFP_MOVABLE" },
	{ ___GFP_ACCOUNT, "__GFP_ACCOUNT" },
	{ ___GFP_WRITE, "__GFP_WRITE" },
	{ __GFP_RECLAIM, "__GFP_RECLAIM" },
	{ ___GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM" },
	{ ___GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM" },
	{ ___GFP_ZEROTAGS, "__GFP_ZEROTAGS" },
	{ 0, 0 }
};

const struct trace_print_flags pageflag_names[] = {
\#(pageFlagNamesTable)	{ 0, 0 }
};

const char *migrate_reason_names[MR_TYPES] = {
	"compaction",
	"memory_failure",
	"memory_hotplug",
	"syscall_or_cpuset",
	"mempolicy_mbind",
	"numa_misplaced",
	"contig_range",
	"longterm_pin",
	"demotion",
	"damon",
};

const char * const migratetype_names[MIGRATE_TYPES] = {
	"Unmovable",
	"Movable",
	"Reclaimable",
	"HighAtomic",
	"CMA",
	"Isolate",
};

/* ---- kallsyms: room reserved here, the tables are written after linking ---- */
const int kallsyms_num_syms __rodata = 0;
const u8 kallsyms_names[\#(kallsymsNamesBytes)] __rodata = { 0 };
const unsigned int kallsyms_markers[\#(kallsymsMaxSymbols / 256 + 1)] __rodata = { 0 };
const u8 kallsyms_seqs_of_names[\#(3 * kallsymsMaxSymbols)] __rodata = { 0 };
const char kallsyms_token_table[\#(kallsymsTokenBytes)] __rodata = { 0 };
const u16 kallsyms_token_index[256] __rodata = { 0 };
const int kallsyms_offsets[\#(kallsymsMaxSymbols)] __rodata = { 0 };
const unsigned long kallsyms_relative_base __rodata = (unsigned long)_text;
"""#
    }
}
