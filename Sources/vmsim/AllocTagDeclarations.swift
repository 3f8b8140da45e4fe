// Memory allocation profiling (CONFIG_MEM_ALLOC_PROFILING, 6.10+), as a 6.12 x86_64 kernel
// declares it: struct codetag and struct alloc_tag (include/linux/codetag.h, alloc_tag.h),
// the private struct codetag_type / codetag_range / codetag_module of lib/codetag.c, and
// struct idr around the xarray. The kernel image's tags are a static array in the `alloc_tags`
// section (the linker script brackets it with __start_alloc_tags / __stop_alloc_tags); their
// strings are ordinary .rodata. Counters are per-CPU (zero-based offsets, x86_64 style).
// Written by vmsim from the kernel's layouts; only the shapes the reader needs are kept.

enum AllocTagDeclarations {
    static let types = """

    /* ---- memory allocation profiling ---- */
    struct rw_semaphore {
    	atomic_long_t count;
    	atomic_long_t owner;
    	spinlock_t wait_lock;
    	struct list_head wait_list;
    };
    struct idr {
    	struct xarray idr_rt;
    	unsigned int idr_base;
    	unsigned int idr_next;
    };
    struct cpumask { unsigned long bits[1]; };

    enum codetag_flags { CODETAG_FLAG_INACCURATE = (1 << 0) };
    struct codetag {
    	unsigned int flags;
    	unsigned int lineno;
    	const char *modname;
    	const char *function;
    	const char *filename;
    } __attribute__((aligned(8)));
    struct alloc_tag_counters {
    	u64 bytes;
    	u64 calls;
    };
    struct alloc_tag {
    	struct codetag ct;
    	struct alloc_tag_counters *counters;
    } __attribute__((aligned(8)));

    struct codetag_type;
    struct codetag_module;
    struct module;
    struct codetag_type_desc {
    	const char *section;
    	size_t tag_size;
    	void (*module_load)(struct codetag_type *cttype, struct codetag_module *cmod);
    	void (*module_unload)(struct codetag_type *cttype, struct codetag_module *cmod);
    };
    struct codetag_type {
    	struct list_head link;
    	unsigned int count;
    	struct idr mod_idr;
    	struct rw_semaphore mod_lock;
    	struct codetag_type_desc desc;
    	unsigned long next_mod_seq;
    };
    struct codetag_range {
    	struct codetag *start;
    	struct codetag *stop;
    };
    struct codetag_module {
    	struct module *mod;
    	struct codetag_range range;
    	unsigned long mod_seq;
    };

    """

    /// The tags of the image, one initializer each, in section order (counters are set at boot).
    static var globals: String {
        var s = """
        struct cpumask __cpu_possible_mask;
        static struct list_head codetag_types __used;
        static struct codetag_type *alloc_tag_cttype __used;
        struct static_key_true mem_alloc_profiling_key;
        extern struct alloc_tag __start_alloc_tags[], __stop_alloc_tags[];
        static struct alloc_tag _alloc_tags_vmlinux[] __used __attribute__((section("alloc_tags"), aligned(8))) = {

        """
        for (file, line, function, _) in AllocTagModel.kernelSites {
            s += "\t{ .ct = { .lineno = \(line), .function = \"\(function)\", .filename = \"\(file)\" } },\n"
        }
        return s + "};\n"
    }

    static var layoutQueries: [(key: String, expr: String)] {
        var q: [(String, String)] = []
        func size(_ t: String) { q.append(("SIZE(\(t))", "sizeof(struct \(t))")) }
        func off(_ t: String, _ fields: [String]) {
            for f in fields { q.append(("OFFSET(\(t).\(f))", "offsetof(struct \(t), \(f))")) }
        }
        size("alloc_tag"); off("alloc_tag", ["ct", "counters"])
        size("alloc_tag_counters"); off("alloc_tag_counters", ["bytes", "calls"])
        off("codetag", ["flags", "lineno", "modname", "function", "filename"])
        size("codetag_type"); off("codetag_type", ["link", "count", "mod_idr", "desc", "next_mod_seq"])
        off("codetag_type_desc", ["section", "tag_size"])
        off("idr", ["idr_rt", "idr_base", "idr_next"])
        off("xarray", ["xa_flags", "xa_head"])
        size("codetag_module"); off("codetag_module", ["mod", "range", "mod_seq"])
        off("codetag_range", ["start", "stop"])
        size("xa_node"); off("xa_node", ["shift", "count", "array", "slots", "marks"])
        off("module", ["percpu", "percpu_size"])
        return q
    }
}
