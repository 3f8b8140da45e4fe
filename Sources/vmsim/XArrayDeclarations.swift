/// `struct xarray` and `struct xa_node` (include/linux/xarray.h, 64 slots): the swap_page_owner
/// tree of 6.19-swap and, as `radix_tree_root` inside `struct idr`, the code-tag module idr of
/// the memory allocation profiling profiles. Declared once when either needs them.
enum XArrayDeclarations {
    static var needed: Bool {
        let p = KernelProfile.current
        return p.swapPageOwner || p.allocProfiling
    }

    static let types = """

    /* ---- xarray (include/linux/xarray.h) ---- */
    #define XA_CHUNK_SHIFT 6
    #define XA_CHUNK_SIZE (1UL << XA_CHUNK_SHIFT)
    #define XA_MAX_MARKS 3
    struct xarray {
    	spinlock_t xa_lock;
    	gfp_t xa_flags;
    	void *xa_head;
    };
    struct xa_node {
    	unsigned char shift;
    	unsigned char offset;
    	unsigned char count;
    	unsigned char nr_values;
    	struct xa_node *parent;
    	struct xarray *array;
    	union {
    		struct list_head private_list;
    		struct callback_head callback_head;
    	};
    	void *slots[XA_CHUNK_SIZE];
    	union {
    		unsigned long tags[XA_MAX_MARKS][1];
    		unsigned long marks[XA_MAX_MARKS][1];
    	};
    };

    """
}
