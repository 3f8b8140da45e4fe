/* First compile unit of the fixture program: defines the private struct page_owner and the
 * variables the tests read. main() prints link-time addresses for the symbol table tests. */
#include <stdio.h>
#include <string.h>
#include "page_owner_private.h"

const char linux_banner[] = "Linux version 6.12.0-fixture (gcc) #1 SMP PREEMPT_DYNAMIC\n";
struct page_ext_operations page_owner_ops = { .size = sizeof(struct page_owner) };
static void *stack_pools[DEPOT_POOLS_CAP];
struct mem_section **mem_section;
struct mem_section mem_section_2d[SECTION_ROOTS][SECTIONS_PER_ROOT];
unsigned long zeroed_counter;
struct page *vmemmap_base;
struct mem_cgroup root_mem;
struct stack_record *last_record;
union handle_parts last_parts;
enum zone_type last_zone;
enum pagetype last_type;
enum signed_values last_signed;
struct packed_bits packed;
int uses_late_array(void) { return late_array[0]; }

static struct page_owner owner_scratch;

__attribute__((noinline)) static struct page_owner *owner_of(int index)
{
	stack_pools[index & 1] = &owner_scratch;
	return &owner_scratch;
}

int other_function(void);

int main(void)
{
	owner_of(0)->order = 1;
	printf("addr linux_banner %p\n", (void *)linux_banner);
	printf("addr page_owner_ops %p\n", (void *)&page_owner_ops);
	printf("addr stack_pools %p\n", (void *)stack_pools);
	printf("addr main %p\n", (void *)main);
	printf("addr zeroed_counter %p\n", (void *)&zeroed_counter);
	return other_function() == 42 ? 0 : 1;
}
