/* Prints, from the same declarations the fixture program uses, the layout facts the DWARF
 * reader must reproduce:
 *   size NAME BYTES | offset NAME.PATH BYTES | bits NAME.FIELD FIRST_BIT WIDTH | enum NAME VALUE
 * FIRST_BIT counts from bit 0 of byte 0 of the containing type, LSB first. */
#include <stdio.h>
#include <string.h>
#include "page_owner_private.h"

#define SIZE(name, T) printf("size %s %zu\n", name, sizeof(T))
#define OFFSET(name, T, path) printf("offset %s.%s %zu\n", name, #path, offsetof(T, path))
#define BITS(name, T, field) do { \
	T value; \
	memset(&value, 0, sizeof value); \
	value.field = -1; \
	print_bits(name "." #field, (const unsigned char *)&value, sizeof value); \
} while (0)
#define ENUM(name) printf("enum %s %lld\n", #name, (long long)(name))

static void print_bits(const char *name, const unsigned char *bytes, size_t size)
{
	int first = -1, width = 0;
	for (size_t bit = 0; bit < size * 8; bit++) {
		if (bytes[bit / 8] & (1u << (bit % 8))) {
			if (first < 0)
				first = (int)bit;
			width++;
		}
	}
	printf("bits %s %d %d\n", name, first, width);
}

int main(void)
{
	SIZE("page", struct page);
	OFFSET("page", struct page, flags);
	OFFSET("page", struct page, lru);
	OFFSET("page", struct page, mlock_count);
	OFFSET("page", struct page, mapping);
	OFFSET("page", struct page, index);
	OFFSET("page", struct page, private);
	OFFSET("page", struct page, pp_magic);
	OFFSET("page", struct page, dma_addr);
	OFFSET("page", struct page, compound_head);
	OFFSET("page", struct page, page_type);
	OFFSET("page", struct page, _mapcount);
	OFFSET("page", struct page, _refcount);
	OFFSET("page", struct page, memcg_data);
	OFFSET("page", struct page, lru.prev);

	SIZE("page_owner", struct page_owner);
	OFFSET("page_owner", struct page_owner, order);
	OFFSET("page_owner", struct page_owner, last_migrate_reason);
	OFFSET("page_owner", struct page_owner, gfp_mask);
	OFFSET("page_owner", struct page_owner, handle);
	OFFSET("page_owner", struct page_owner, free_handle);
	OFFSET("page_owner", struct page_owner, ts_nsec);
	OFFSET("page_owner", struct page_owner, free_ts_nsec);
	OFFSET("page_owner", struct page_owner, comm);
	OFFSET("page_owner", struct page_owner, pid);
	OFFSET("page_owner", struct page_owner, tgid);
	OFFSET("page_owner", struct page_owner, free_pid);
	OFFSET("page_owner", struct page_owner, free_tgid);

	SIZE("stack_record", struct stack_record);
	OFFSET("stack_record", struct stack_record, hash_list);
	OFFSET("stack_record", struct stack_record, hash);
	OFFSET("stack_record", struct stack_record, size);
	OFFSET("stack_record", struct stack_record, handle);
	OFFSET("stack_record", struct stack_record, handle.handle);
	OFFSET("stack_record", struct stack_record, count);
	OFFSET("stack_record", struct stack_record, count.refs.counter);
	OFFSET("stack_record", struct stack_record, entries);

	SIZE("handle_parts", union handle_parts);
	OFFSET("handle_parts", union handle_parts, handle);
	BITS("handle_parts", union handle_parts, pool_index_plus_1);
	BITS("handle_parts", union handle_parts, offset);
	BITS("handle_parts", union handle_parts, extra);

	SIZE("mem_cgroup", struct mem_cgroup);
	OFFSET("mem_cgroup", struct mem_cgroup, id);
	OFFSET("mem_cgroup", struct mem_cgroup, css);
	OFFSET("mem_cgroup", struct mem_cgroup, css.flags);
	OFFSET("mem_cgroup", struct mem_cgroup, css.serial_nr);
	OFFSET("mem_cgroup", struct mem_cgroup, css.refcnt.refs.counter);
	OFFSET("mem_cgroup", struct mem_cgroup, nr_pages);

	SIZE("mem_section", struct mem_section);
	OFFSET("mem_section", struct mem_section, usage);
	OFFSET("mem_section", struct mem_section, page_ext);

	SIZE("packed_bits", struct packed_bits);
	OFFSET("packed_bits", struct packed_bits, more);
	BITS("packed_bits", struct packed_bits, wide);
	BITS("packed_bits", struct packed_bits, narrow);
	BITS("packed_bits", struct packed_bits, big);

	SIZE("page_ext_operations", struct page_ext_operations);
	OFFSET("page_ext_operations", struct page_ext_operations, size);
	OFFSET("page_ext_operations", struct page_ext_operations, init);

	ENUM(ZONE_NORMAL);
	ENUM(__MAX_NR_ZONES);
	ENUM(MEMCG_DATA_KMEM);
	ENUM(__NR_MEMCG_DATA_FLAGS);
	ENUM(PGTY_buddy);
	ENUM(PGTY_mapcount_underflow);
	ENUM(SIGNED_MINUS_ONE);
	ENUM(SIGNED_LOW);
	ENUM(SIGNED_HIGH);
	printf("const DEPOT_POOLS_CAP %d\n", DEPOT_POOLS_CAP);
	printf("const SECTION_ROOTS %d\n", SECTION_ROOTS);
	printf("const SECTIONS_PER_ROOT %d\n", SECTIONS_PER_ROOT);
	return 0;
}
