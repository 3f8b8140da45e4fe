/// Call chains of the simulated workload, innermost frame first, after the allocator frames
/// every page_owner stack starts with. A "brd:" prefix marks a function of the brd module.
enum CallChains {
    static let allocTop = ["post_alloc_hook", "get_page_from_freelist", "__alloc_pages_noprof"]
    static let syscall = ["do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
    static let pageFault = ["handle_mm_fault", "do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault"]

    static let kthreadStack = allocTop + ["alloc_pages_bulk_noprof", "__vmalloc_area_node", "__vmalloc_node_range_noprof",
        "alloc_thread_stack_node", "dup_task_struct", "copy_process", "kernel_clone", "kernel_thread", "kthreadd",
        "ret_from_fork", "ret_from_fork_asm"]
    static let forkStack = allocTop + ["__vmalloc_area_node", "__vmalloc_node_range_noprof", "alloc_thread_stack_node",
        "dup_task_struct", "copy_process", "kernel_clone", "__do_sys_clone3"] + syscall
    static let slabKmalloc = allocTop + ["allocate_slab", "___slab_alloc", "__kmalloc_noprof", "alloc_pipe_info",
        "do_pipe2", "__x64_sys_pipe2"] + syscall
    static let slabInode = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_lru_noprof", "shmem_alloc_inode",
        "alloc_inode", "new_inode", "__shmem_get_inode", "shmem_mknod", "path_openat", "do_filp_open", "do_sys_openat2",
        "__x64_sys_openat"] + syscall
    static let slabDentry = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_lru_noprof", "__d_alloc",
        "d_alloc", "d_alloc_parallel", "path_openat", "do_filp_open", "do_sys_openat2", "__x64_sys_openat"] + syscall
    static let slabExt4Inode = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_lru_noprof", "ext4_alloc_inode",
        "alloc_inode", "iget_locked", "path_openat", "do_filp_open", "do_sys_openat2", "__x64_sys_openat"] + syscall
    static let slabBufferHead = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_noprof", "alloc_buffer_head",
        "folio_alloc_buffers", "create_empty_buffers", "__block_write_begin_int", "ext4_da_write_begin",
        "generic_perform_write", "ext4_buffered_write_iter", "ext4_file_write_iter", "vfs_write", "ksys_write"] + syscall
    static let slabXarrayShmem = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_lru_noprof", "xas_alloc",
        "xas_create", "xas_store", "shmem_add_to_page_cache", "shmem_alloc_and_add_folio", "shmem_get_folio_gfp.constprop.0",
        "shmem_write_begin", "generic_perform_write", "shmem_file_write_iter", "vfs_write", "ksys_write"] + syscall
    static let slabXarrayBrd = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_lru_noprof", "xas_alloc",
        "xas_create", "xas_store", "__xa_insert", "brd:brd_insert_page", "brd:brd_submit_bio", "__submit_bio",
        "submit_bio_noacct_nocheck", "iomap_submit_ioend", "iomap_writepages", "blkdev_writepages", "do_writepages"]
    static let slabSkb = allocTop + ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_node_noprof", "__alloc_skb",
        "alloc_skb_with_frags", "sock_alloc_send_pskb", "unix_stream_sendmsg", "sock_sendmsg", "__sys_sendto",
        "__x64_sys_sendto"] + syscall
    static let kmallocLarge = allocTop + ["__kmalloc_large_node", "__kmalloc_node_noprof", "kvmalloc_node_noprof",
        "bpf_map_area_alloc", "array_map_alloc", "map_create", "__sys_bpf", "__x64_sys_bpf"] + syscall
    static let shmemWrite = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_mpol_noprof", "shmem_alloc_folio",
        "shmem_alloc_and_add_folio", "shmem_get_folio_gfp.constprop.0", "shmem_write_begin", "generic_perform_write",
        "shmem_file_write_iter", "vfs_write", "ksys_write"] + syscall
    static let pageCacheRead = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_noprof", "filemap_alloc_folio_noprof",
        "page_cache_ra_unbounded", "page_cache_ra_order", "ondemand_readahead", "page_cache_sync_ra", "filemap_get_pages",
        "filemap_read", "ext4_file_read_iter", "vfs_read", "ksys_read"] + syscall
    static let pageCacheFault = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_noprof", "filemap_alloc_folio_noprof",
        "page_cache_ra_order", "filemap_fault", "__do_fault", "do_read_fault", "do_fault", "__handle_mm_fault"] + pageFault
    static let anonFault = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_mpol_noprof", "vma_alloc_folio_noprof",
        "do_anonymous_page", "__handle_mm_fault"] + pageFault
    static let thpFault = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_mpol_noprof", "vma_alloc_folio_noprof",
        "vma_alloc_anon_folio_pmd", "do_huge_pmd_anonymous_page", "__handle_mm_fault"] + pageFault
    static let pageTable = allocTop + ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "pte_alloc_one", "__pte_alloc",
        "do_anonymous_page", "__handle_mm_fault"] + pageFault
    static let pgdAlloc = allocTop + ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "__get_free_pages_noprof", "pgd_alloc",
        "mm_init", "dup_mm", "copy_process", "kernel_clone", "__do_sys_clone3"] + syscall
    static let pipeWrite = allocTop + ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "pipe_write", "vfs_write",
        "ksys_write"] + syscall
    static let sockFrag = allocTop + ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "skb_page_frag_refill",
        "sk_page_frag_refill", "tcp_sendmsg_locked", "tcp_sendmsg", "sock_sendmsg", "__sys_sendto", "__x64_sys_sendto"] + syscall
    static let netRx = allocTop + ["__page_pool_alloc_pages_slow", "page_pool_alloc_pages", "virtnet_poll", "__napi_poll",
        "net_rx_action", "handle_softirqs", "__irq_exit_rcu", "irq_exit_rcu", "common_interrupt", "asm_common_interrupt"]
    static let journal = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_noprof", "filemap_alloc_folio_noprof",
        "__filemap_get_folio", "jbd2_journal_get_write_access", "jbd2_journal_commit_transaction", "kjournald2", "kthread",
        "ret_from_fork", "ret_from_fork_asm"]
    static let moduleMemory = allocTop + ["alloc_pages_bulk_noprof", "__vmalloc_area_node", "__vmalloc_node_range_noprof",
        "execmem_alloc", "module_alloc", "load_module", "init_module_from_file", "idempotent_init_module",
        "__x64_sys_finit_module"] + syscall
    static let brdPage = allocTop + ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "brd:brd_insert_page",
        "brd:brd_submit_bio", "__submit_bio", "submit_bio_noacct_nocheck", "iomap_submit_ioend", "iomap_writepages",
        "blkdev_writepages", "do_writepages", "__filemap_fdatawrite_range", "filemap_write_and_wait_range", "bdev_release",
        "blkdev_release", "__fput", "task_work_run"]
    static let blkdevPageCache = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_noprof", "filemap_alloc_folio_noprof",
        "__filemap_get_folio", "iomap_writepages", "blkdev_write_iter", "vfs_write", "ksys_write"] + syscall
    static let execArgs = allocTop + ["alloc_pages_mpol_noprof", "folio_alloc_mpol_noprof", "vma_alloc_folio_noprof",
        "do_anonymous_page", "__handle_mm_fault", "handle_mm_fault", "__get_user_pages", "setup_arg_pages",
        "load_elf_binary", "bprm_execve", "do_execveat_common.isra.0", "__x64_sys_execve"] + syscall
    static let compactionTarget = ["post_alloc_hook", "compaction_alloc", "migrate_pages_batch", "migrate_pages",
        "compact_zone", "compact_node", "kcompactd_do_work", "kcompactd", "kthread", "ret_from_fork", "ret_from_fork_asm"]
    static let depotPool = allocTop + ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "depot_alloc_stack",
        "stack_depot_save_flags", "stack_depot_save", "save_stack", "__set_page_owner", "post_alloc_hook"]

    // Free stacks (what __reset_page_owner saved).
    static let freeExit = ["free_unref_folios", "folios_put_refs", "free_pages_and_swap_cache", "tlb_flush_mmu",
        "tlb_finish_mmu", "exit_mmap", "__mmput", "mmput", "do_exit", "do_group_exit", "__x64_sys_exit_group"] + syscall
    static let freeMigrated = ["free_unref_page", "migrate_folio_move", "migrate_pages_batch", "migrate_pages",
        "compact_zone", "compact_node", "kcompactd_do_work", "kcompactd", "kthread", "ret_from_fork", "ret_from_fork_asm"]
    static let freeSlab = ["__free_pages_ok", "__free_pages", "kfree", "anon_pipe_buf_release", "__fput", "task_work_run",
        "syscall_exit_to_user_mode"] + syscall
    static let freeTruncate = ["free_unref_folios", "folios_put_refs", "release_pages", "shmem_undo_range", "__fput",
        "task_work_run", "syscall_exit_to_user_mode"] + syscall

    // The three stacks page_owner registers at init (4 entries, no skipping).
    static let dummy = ["register_dummy_stack", "init_page_owner", "page_ext_init", "mm_core_init"]
    static let failure = ["register_failure_stack", "init_page_owner", "page_ext_init", "mm_core_init"]
    static let early = ["register_early_stack", "init_page_owner", "page_ext_init", "mm_core_init"]
}

extension CallChains {
    /// Background kernel allocations: allocator helpers x callers x contexts, so that the
    /// depot holds a few hundred distinct stacks spread over several pools.
    static let helpers: [[String]] = [
        ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_noprof"],
        ["allocate_slab", "___slab_alloc", "__kmalloc_noprof"],
        ["allocate_slab", "___slab_alloc", "kmem_cache_alloc_node_noprof"],
        ["alloc_pages_mpol_noprof", "alloc_pages_noprof"],
        ["alloc_pages_mpol_noprof", "alloc_pages_noprof", "__get_free_pages_noprof"],
        ["alloc_pages_bulk_noprof", "__vmalloc_area_node", "__vmalloc_node_range_noprof", "__vmalloc_node_noprof",
         "kvmalloc_node_noprof"],
    ]
    static let callers: [[String]] = [
        ["alloc_file_pseudo", "anon_inode_getfile"],
        ["perf_mmap"],
        ["bpf_map_area_alloc", "array_map_alloc", "map_create", "__sys_bpf"],
        ["seq_read_iter", "seq_read", "proc_reg_read", "vfs_read", "ksys_read"],
        ["d_alloc", "d_alloc_parallel", "path_openat", "do_filp_open"],
        ["blk_mq_alloc_rqs", "blk_mq_alloc_map_and_rqs"],
        ["alloc_pipe_info", "do_pipe2"],
        ["copy_page_range", "dup_mm", "copy_process", "kernel_clone"],
        ["setup_arg_pages", "load_elf_binary", "bprm_execve", "do_execveat_common.isra.0"],
        ["do_mmap", "mmap_region", "vm_mmap_pgoff", "ksys_mmap_pgoff"],
        ["do_brk_flags", "__x64_sys_brk"],
        ["iget_locked", "path_openat", "do_filp_open", "do_sys_openat2"],
        ["jbd2_journal_get_write_access", "ext4_block_write_begin", "ext4_da_write_begin", "generic_perform_write"],
        ["__alloc_skb", "alloc_skb_with_frags", "sock_alloc_send_pskb", "unix_stream_sendmsg", "sock_sendmsg"],
        ["alloc_buffer_head", "folio_alloc_buffers", "create_empty_buffers", "__block_write_begin_int"],
        ["load_module", "init_module_from_file", "idempotent_init_module"],
    ]
    static let contexts: [[String]] = [
        syscall,
        ["process_one_work", "worker_thread", "kthread", "ret_from_fork", "ret_from_fork_asm"],
        ["task_work_run", "syscall_exit_to_user_mode"] + syscall,
    ]

    static func background(_ i: Int) -> [String] {
        let h = helpers[i % helpers.count]
        let c = callers[(i / helpers.count) % callers.count]
        let x = contexts[(i / (helpers.count * callers.count)) % contexts.count]
        return allocTop + h + c + x
    }
    static var backgroundCount: Int { helpers.count * callers.count * contexts.count }
}
