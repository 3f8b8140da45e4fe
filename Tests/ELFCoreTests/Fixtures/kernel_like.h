/* Declarations shaped like the kernel's, for the DWARF reader tests. Both the fixture
 * program (read through DWARF) and layout_printer.c (prints offsetof/sizeof) include it. */
#ifndef KERNEL_LIKE_H
#define KERNEL_LIKE_H
#include <stddef.h>

typedef unsigned int u32;
typedef unsigned long long u64;
typedef u32 depot_stack_handle_t;

#define DEPOT_POOLS_CAP 8192
#define SECTION_ROOTS 4
#define SECTIONS_PER_ROOT 16

struct list_head { struct list_head *next, *prev; };
typedef struct { int counter; } atomic_t;
typedef struct { atomic_t refs; } refcount_t;

/* Bitfields inside an anonymous struct inside a union. */
union handle_parts {
	depot_stack_handle_t handle;
	struct {
		u32 pool_index_plus_1 : 17;
		u32 offset : 10;
		u32 extra : 5;
	};
};

/* Ends in a flexible array. */
struct stack_record {
	struct list_head hash_list;
	u32 hash;
	u32 size;
	union handle_parts handle;
	refcount_t count;
	unsigned long entries[];
};

/* Anonymous unions and structs nested three deep, as in struct page. */
struct page {
	unsigned long flags;
	union {
		struct {
			union {
				struct list_head lru;
				struct {
					void *__filler;
					unsigned int mlock_count;
				};
			};
			void *mapping;
			unsigned long index;
			unsigned long private;
		};
		struct {
			unsigned long pp_magic;
			void *pp;
			unsigned long _pp_mapping_pad;
			unsigned long dma_addr;
		};
		struct {
			unsigned long compound_head;
		};
	};
	union {
		unsigned int page_type;
		int _mapcount;
	};
	atomic_t _refcount;
	unsigned long memcg_data;
};

/* A named struct member, for dotted paths ("css.flags"). */
struct cgroup_subsys_state {
	void *cgroup;
	refcount_t refcnt;
	unsigned int flags;
	unsigned long serial_nr;
};
struct mem_cgroup {
	int id;
	struct cgroup_subsys_state css;
	unsigned long nr_pages[3][5];
};

struct mem_section {
	unsigned long section_mem_map;
	void *usage;
	void *page_ext;
	unsigned long pad;
};

/* Bitfields that do not sit on natural boundaries. */
struct __attribute__((packed)) packed_bits {
	char tag;
	char more[2];
	int wide : 20;
	int narrow : 4;
	unsigned long long big : 40;
};

enum zone_type { ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, __MAX_NR_ZONES };
enum { MEMCG_DATA_OBJEXTS = 1UL << 0, MEMCG_DATA_KMEM = 1UL << 1, __NR_MEMCG_DATA_FLAGS = 1UL << 2 };
enum pagetype { PGTY_buddy = 0xf0, PGTY_offline = 0xf1, PGTY_mapcount_underflow = 0xff };
enum signed_values { SIGNED_MINUS_ONE = -1, SIGNED_LOW = -100000, SIGNED_HIGH = 0x7fffffff };

struct page_ext_operations {
	size_t offset;
	size_t size;
	int (*need)(void);
	void (*init)(void);
};

/* Declared here with an incomplete type, defined with 7 elements in fixture_other.c. */
extern int late_array[];

#endif
