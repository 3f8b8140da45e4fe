/* struct page_owner as mm/page_owner.c keeps it: private to one compile unit. */
#include "kernel_like.h"

struct page_owner {
	unsigned short order;
	short last_migrate_reason;
	unsigned int gfp_mask;
	depot_stack_handle_t handle;
	depot_stack_handle_t free_handle;
	u64 ts_nsec;
	u64 free_ts_nsec;
	char comm[16];
	int pid;
	int tgid;
	int free_pid;
	int free_tgid;
};
