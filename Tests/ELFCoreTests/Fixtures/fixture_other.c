/* Second compile unit: its own, different struct page_owner (same tag, other file), a
 * static variable, and the definition of late_array. */
#include "kernel_like.h"

struct page_owner {
	long only_field;
	char other_layout[3];
};

int late_array[7] = { 1 };
struct page_owner other_owner;
static int other_static_counter;

int other_function(void)
{
	other_static_counter += 1;
	return 41 + other_static_counter + (int)sizeof(other_owner) * 0;
}
