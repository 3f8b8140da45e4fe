// The C side of the simulated kernel: types and globals, written for vmsim from the
// Linux 6.12 x86_64 layouts (by default CONFIG_SPARSEMEM_VMEMMAP and NUMA with NODES_SHIFT 6,
// see MemoryModel.swift for the others; MEMCG,
// PAGE_OWNER, STACKDEPOT with 64 frames, HUGETLB_PAGE, CMA, MEMORY_ISOLATION, no KASAN,
// no LOCKDEP, no NUMA_BALANCING, no LRU_GEN). gcc compiles this with -g so that the
// resulting vmlinux carries real DWARF for every type below.

enum KernelDeclarations {
    /// Kernel release string written into init_uts_ns, linux_banner and VMCOREINFO.
    static var release: String { KernelProfile.current.release }
    static var banner: String { KernelProfile.current.banner }

    /// Types only: shared by the kernel image and by the layout probe program. The parts that
    /// differ between generations come from ProfileDeclarations.swift.
    static var types: String { #"""
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef _Bool bool;
typedef unsigned long size_t;
typedef unsigned int gfp_t;
typedef int pid_t;
typedef unsigned short umode_t;
typedef u32 depot_stack_handle_t;

typedef struct { int counter; } atomic_t;
typedef struct { s64 counter; } atomic64_t;
typedef atomic64_t atomic_long_t;
typedef struct refcount_struct { atomic_t refs; } refcount_t;

struct list_head { struct list_head *next, *prev; };
struct hlist_node { struct hlist_node *next, **pprev; };
struct callback_head { struct callback_head *next; void (*func)(struct callback_head *head); };
struct rb_node { unsigned long __rb_parent_color; struct rb_node *rb_right; struct rb_node *rb_left; } __attribute__((aligned(sizeof(long))));

/* Static keys (jump labels): enabled.counter > 0 means on. */
struct jump_entry;
struct static_key_mod;
struct static_key {
	atomic_t enabled;
	union {
		unsigned long type;
		struct jump_entry *entries;
		struct static_key_mod *next;
	};
};
struct static_key_false { struct static_key key; };
struct static_key_true { struct static_key key; };

/* ---- struct page (64 bytes) ---- */
struct address_space;
struct page_pool;
struct dev_pagemap;
\#(pageFlagsType)
struct page {
	\#(pageFlagsMember)
	union {
		struct {
			union {
				struct list_head lru;
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
				struct list_head buddy_list;
				struct list_head pcp_list;
			};
			struct address_space *mapping;
			union {
				unsigned long index;
				unsigned long share;
			};
			unsigned long private;
		};
		struct {
			unsigned long pp_magic;
			struct page_pool *pp;
			unsigned long _pp_mapping_pad;
			unsigned long dma_addr;
			atomic_long_t pp_ref_count;
		};
		struct {
			unsigned long compound_head;
		};
		struct {
			struct dev_pagemap *pgmap;
			void *zone_device_data;
		};
		struct callback_head callback_head;
	};
	union {
		unsigned int page_type;
		atomic_t _mapcount;
	};
	atomic_t _refcount;
	unsigned long memcg_data;
} __attribute__((aligned(2 * sizeof(unsigned long))));

\#(pageFlagsEnum)
\#(pageTypeEnum)
\#(memcgDataEnum)

/* ---- zones and nodes ---- */
enum zone_type {
	ZONE_DMA,
	ZONE_DMA32,
	ZONE_NORMAL,
	ZONE_MOVABLE,
	__MAX_NR_ZONES
};

enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,
	MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
	MIGRATE_CMA,
	MIGRATE_ISOLATE,
	MIGRATE_TYPES
};

\#(pageblockBitsEnum)
\#(pageTableDescriptor)

enum zone_stat_item {
	NR_FREE_PAGES,
	NR_ZONE_LRU_BASE,
	NR_ZONE_INACTIVE_ANON = NR_ZONE_LRU_BASE,
	NR_ZONE_ACTIVE_ANON,
	NR_ZONE_INACTIVE_FILE,
	NR_ZONE_ACTIVE_FILE,
	NR_ZONE_UNEVICTABLE,
	NR_ZONE_WRITE_PENDING,
	NR_MLOCK,
	NR_BOUNCE,
	NR_ZSPAGES,
	NR_FREE_CMA_PAGES,
	NR_VM_ZONE_STAT_ITEMS
};

#define MAX_PAGE_ORDER \#(Platform.current.maxOrder)
#define NR_PAGE_ORDERS (MAX_PAGE_ORDER + 1)
#define MAX_NUMNODES \#(1 << Platform.current.nodesShift)

struct free_area {
	struct list_head free_list[MIGRATE_TYPES];
	unsigned long nr_free;
};

typedef struct { unsigned long bits[1]; } nodemask_t;
typedef struct { int rlock; } spinlock_t;

struct pglist_data;
struct per_cpu_pages;
struct per_cpu_zonestat;

struct zone {
	unsigned long _watermark[4];
	unsigned long watermark_boost;
	unsigned long nr_reserved_highatomic;
	long lowmem_reserve[__MAX_NR_ZONES];
	int node;
	struct pglist_data *zone_pgdat;
	struct per_cpu_pages *per_cpu_pageset;
	struct per_cpu_zonestat *per_cpu_zonestats;
	int pageset_high_min;
	int pageset_high_max;
	int pageset_batch;
\#(MemoryModel.current.zoneFields)	unsigned long zone_start_pfn;
	atomic_long_t managed_pages;
	unsigned long spanned_pages;
	unsigned long present_pages;
	unsigned long cma_pages;
	const char *name;
	unsigned long nr_isolate_pageblock;
	int initialized;
	struct free_area free_area[NR_PAGE_ORDERS];
	unsigned long flags;
	spinlock_t lock;
	unsigned long percpu_drift_mark;
	unsigned long compact_cached_free_pfn;
	unsigned long compact_cached_migrate_pfn[2];
	unsigned long compact_init_migrate_pfn;
	unsigned long compact_init_free_pfn;
	unsigned int compact_considered;
	unsigned int compact_defer_shift;
	int compact_order_failed;
	bool compact_blockskip_flush;
	bool contiguous;
	atomic_long_t vm_stat[NR_VM_ZONE_STAT_ITEMS];
} __attribute__((aligned(64)));

struct zoneref { struct zone *zone; int zone_idx; };
struct zonelist { struct zoneref _zonerefs[MAX_NUMNODES * __MAX_NR_ZONES + 1]; };

typedef struct pglist_data {
	struct zone node_zones[__MAX_NR_ZONES];
	struct zonelist node_zonelists[2];
	int nr_zones;
\#(MemoryModel.current.pgdatFields)	unsigned long node_start_pfn;
	unsigned long node_present_pages;
	unsigned long node_spanned_pages;
	int node_id;
	unsigned long totalreserve_pages;
	unsigned long flags;
} pg_data_t;

\#(MemoryModel.current.sectionTypes)/* ---- page_ext and page_owner ---- */
struct page_ext { unsigned long flags; };

enum page_ext_flags {
	PAGE_EXT_OWNER,
	PAGE_EXT_OWNER_ALLOCATED,
\#(KernelProfile.current.swapPageOwner ? "\tPAGE_EXT_OWNER_SWAPPED,\n" : "")};

\#(pageExtOperations)

#define TASK_COMM_LEN 16
\#(pageOwnerStruct)

/* ---- stack depot ---- */
\#(stackDepotTypes)

/* ---- flag-name tables ---- */
struct trace_print_flags {
	unsigned long mask;
	const char *name;
};

enum migrate_reason {
	MR_COMPACTION,
	MR_MEMORY_FAILURE,
	MR_MEMORY_HOTPLUG,
	MR_SYSCALL,
	MR_MEMPOLICY_MBIND,
	MR_NUMA_MISPLACED,
	MR_CONTIG_RANGE,
	MR_LONGTERM_PIN,
	MR_DEMOTION,
	MR_DAMON,
	MR_TYPES
};

/* ---- memory cgroups, as far as page_owner prints them ---- */
struct percpu_ref_data;
struct percpu_ref {
	unsigned long percpu_count_ptr;
	struct percpu_ref_data *data;
};
struct work_struct {
	atomic_long_t data;
	struct list_head entry;
	void (*func)(struct work_struct *work);
};
struct rcu_work {
	struct work_struct work;
	struct callback_head rcu;
	void *wq;
};

enum {
	CSS_NO_REF = (1 << 0),
	CSS_ONLINE = (1 << 1),
	CSS_RELEASED = (1 << 2),
	CSS_VISIBLE = (1 << 3),
	CSS_DYING = (1 << 4),
};

struct cgroup;
struct cgroup_subsys;
struct cgroup_subsys_state {
	struct cgroup *cgroup;
	struct cgroup_subsys *ss;
	struct percpu_ref refcnt;
	struct list_head sibling;
	struct list_head children;
	struct list_head rstat_css_node;
	int id;
	unsigned int flags;
	u64 serial_nr;
	atomic_t online_cnt;
	struct work_struct destroy_work;
	struct rcu_work destroy_rwork;
	struct cgroup_subsys_state *parent;
	int nr_descendants;
};

struct kernfs_root;
struct kernfs_elem_dir {
	unsigned long subdirs;
	struct rb_node *children_root;
	struct kernfs_root *root;
	unsigned long rev;
};
struct kernfs_iattrs;
struct kernfs_node {
	atomic_t count;
	atomic_t active;
	struct kernfs_node *parent;
	const char *name;
	struct rb_node rb;
	const void *ns;
	unsigned int hash;
	unsigned short flags;
	umode_t mode;
	struct kernfs_elem_dir dir;
	u64 id;
	void *priv;
	struct kernfs_iattrs *iattr;
	struct callback_head rcu;
};

struct cgroup_root;
struct cgroup {
	struct cgroup_subsys_state self;
	unsigned long flags;
	int level;
	int max_depth;
	int nr_descendants;
	int nr_dying_descendants;
	int max_descendants;
	int nr_populated_csets;
	int nr_populated_domain_children;
	int nr_populated_threaded_children;
	int nr_threaded_children;
	unsigned int kill_seq;
	struct kernfs_node *kn;
	struct cgroup_root *root;
	struct cgroup *dom_cgrp;
	u64 ancestor_ids_reserved[4];
};

struct mem_cgroup;
struct obj_cgroup {
	struct percpu_ref refcnt;
	struct mem_cgroup *memcg;
	atomic_t nr_charged_bytes;
	union {
		struct list_head list;
		struct callback_head rcu;
	};
};

struct mem_cgroup_id { int id; refcount_t ref; };
struct page_counter { atomic_long_t usage; unsigned long min, low, high, max; };
struct mem_cgroup {
	struct cgroup_subsys_state css;
	struct mem_cgroup_id id;
	struct page_counter memory;
	struct page_counter swap;
	struct obj_cgroup *objcg;
	struct obj_cgroup *orig_objcg;
	struct list_head objcg_list;
	int kmemcg_id;
	bool oom_group;
	int swappiness;
	unsigned long socket_pressure;
};

/* ---- modules ---- */
#define MODULE_NAME_LEN (64 - sizeof(unsigned long))
typedef struct elf64_sym {
	u32 st_name;
	unsigned char st_info;
	unsigned char st_other;
	u16 st_shndx;
	u64 st_value;
	u64 st_size;
} Elf64_Sym;

enum module_state {
	MODULE_STATE_LIVE,
	MODULE_STATE_COMING,
	MODULE_STATE_GOING,
	MODULE_STATE_UNFORMED,
};

enum mod_mem_type {
	MOD_TEXT = 0,
	MOD_DATA,
	MOD_RODATA,
	MOD_RO_AFTER_INIT,
	MOD_INIT_TEXT,
	MOD_INIT_DATA,
	MOD_INIT_RODATA,
	MOD_MEM_NUM_TYPES,
	MOD_INVALID = -1,
};

struct module;
struct mod_tree_node {
	struct module *mod;
	struct rb_node node[2];
};
struct module_memory {
	void *base;
	unsigned int size;
	struct mod_tree_node mtn;
};
struct mod_kallsyms {
	Elf64_Sym *symtab;
	unsigned int num_symtab;
	char *strtab;
	char *typetab;
};
struct kernel_symbol { int value_offset; int name_offset; int namespace_offset; };
struct module {
	enum module_state state;
	struct list_head list;
	char name[MODULE_NAME_LEN];
	unsigned char mkobj_reserved[96];
	const char *version;
	const char *srcversion;
	const struct kernel_symbol *syms;
	const s32 *crcs;
	unsigned int num_syms;
	int (*init)(void);
	struct module_memory mem[MOD_MEM_NUM_TYPES] __attribute__((aligned(64)));
	unsigned long taints;
	struct mod_kallsyms *kallsyms;
	struct mod_kallsyms core_kallsyms;
	char *args;
	void *percpu;
	unsigned int percpu_size;
	struct list_head source_list;
	struct list_head target_list;
	void (*exit)(void);
	atomic_t refcnt;
} __attribute__((aligned(64)));

/* ---- hugetlb ---- */
#define HUGE_MAX_HSTATE 2
struct hstate {
	int next_nid_to_alloc;
	int next_nid_to_free;
	unsigned int order;
	unsigned int demote_order;
	unsigned long mask;
	unsigned long max_huge_pages;
	unsigned long nr_huge_pages;
	unsigned long free_huge_pages;
	unsigned long resv_huge_pages;
	unsigned long surplus_huge_pages;
	char name[32];
};

/* ---- misc ---- */
struct new_utsname {
	char sysname[65];
	char nodename[65];
	char release[65];
	char version[65];
	char machine[65];
	char domainname[65];
};
struct uts_namespace {
	struct new_utsname name;
	void *user_ns;
	void *ucounts;
	unsigned int ns_inum;
};

typedef struct { unsigned long pgd; } pgd_t;

/* The parts of the boot task and mm a reader finds the KASLR slide by, when a dump has no
 * VMCOREINFO note: init_mm.pgd points at the kernel's page table root, init_task.stack at
 * init_stack (include/linux/mm_types.h, sched.h; the other members left out). */
struct mm_struct {
	unsigned long task_size;
	pgd_t *pgd;
	unsigned long flags;
};
struct task_struct {
	unsigned int __state;
	void *stack;
	struct mm_struct *mm;
	struct mm_struct *active_mm;
};
"""# }
}
