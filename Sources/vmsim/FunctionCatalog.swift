// The kernel functions of the simulated image: name, ELF size (st_size), whether the symbol is
// file-local, and whether a `__pfx_` padding symbol precedes it (CONFIG_CALL_PADDING). Each
// body is padded to 16 bytes, so the kallsyms size (distance to the next symbol) is often
// larger than st_size, as on real kernels.

struct KernelFunction {
    let name: String
    let size: Int
    let isLocal: Bool
    let hasPrefix: Bool
    /// Labels inside the function (SYM_INNER_LABEL): name and offset from the start.
    let innerLabels: [(String, Int)]
}

enum FunctionCatalog {
    /// "name size_hex [local] [nopfx]" per line; order is link order.
    private static let table = """
startup_64 0x40 nopfx
secondary_startup_64 0x60 nopfx
common_startup_64 0x138 nopfx
start_kernel 0x6a0
mm_core_init 0x1b0
page_ext_init 0x320
init_page_owner 0x290
register_dummy_stack 0x50 local
register_failure_stack 0x50 local
register_early_stack 0x50 local
need_page_owner 0x12
save_stack 0xc8 local
__set_page_owner 0x1a1
__reset_page_owner 0x13e
__folio_copy_owner 0x1c4
post_alloc_hook 0x128
prep_new_page 0x3e
get_page_from_freelist 0xdb6
rmqueue_bulk 0x2f4 local
__rmqueue_pcplist 0x1e8 local
__alloc_pages_slowpath.constprop.0 0xc4a local
__alloc_pages_noprof 0x1ee
__alloc_pages 0x10
alloc_pages_mpol_noprof 0x1a2
alloc_pages_noprof 0x6d
folio_alloc_mpol_noprof 0x48
folio_alloc_noprof 0x70
__folio_alloc_noprof 0x1b
vma_alloc_folio_noprof 0xd6
alloc_pages_bulk_noprof 0x39c
alloc_pages_exact_nid_noprof 0xb4
__get_free_pages_noprof 0x2c
get_zeroed_page_noprof 0x1a
free_unref_page 0x2a4
free_unref_folios 0x3d2
__free_pages_ok 0x36e
__free_pages 0x8a
free_pages 0x34
folios_put_refs 0x1f2
release_pages 0x2a
free_pages_and_swap_cache 0xc0
tlb_flush_mmu 0x1b6
tlb_finish_mmu 0xa8
zap_pte_range 0x8a0 local
unmap_page_range 0x3c2
unmap_vmas 0x170
exit_mmap 0x3a6
__mmput 0x4c
mmput 0x2c
do_exit 0x9f8
do_group_exit 0x9e
__x64_sys_exit_group 0x18
allocate_slab 0x43c local
___slab_alloc 0xa9c local
__slab_alloc.constprop.0 0x44 local
kmem_cache_alloc_noprof 0x20c
kmem_cache_alloc 0x10
kmem_cache_alloc_lru_noprof 0x20a
kmem_cache_alloc_node_noprof 0x1fc
__kmalloc_noprof 0x2b2
__kmalloc_node_noprof 0x2ac
__kmalloc_large_node 0x144 local
__kmalloc_large_noprof 0x3c
kmalloc_trace_noprof 0x1b6
alloc_slab_obj_exts 0xbe
alloc_tagging_slab_alloc_hook 0x13a
kfree 0x2e4
__vmalloc_area_node 0x270 local
__vmalloc_node_range_noprof 0x72c
__vmalloc_node_noprof 0x58
vmalloc_noprof 0x40
vzalloc_noprof 0x40
kvmalloc_node_noprof 0x104
alloc_thread_stack_node 0x160 local
dup_task_struct 0x1c4 local
copy_process 0x1d2c
kernel_clone 0x30a
kernel_thread 0x6c
user_mode_thread 0x6c
kthreadd 0x12e
kthread 0x104
ret_from_fork 0x3c
ret_from_fork_asm 0x1b nopfx
worker_thread 0x2e6
process_one_work 0x1a6
__x64_sys_clone 0x8c
__do_sys_clone3 0x112 local
xas_alloc 0xdc local
xas_create 0x2fa
xas_store 0x55c
xas_expand.constprop.0 0x1a4 local
__xa_insert 0xfc
xa_store 0x44
shmem_alloc_folio 0x8e local
shmem_alloc_and_add_folio 0x3a4 local
shmem_add_to_page_cache 0x25c local
shmem_get_folio_gfp.constprop.0 0x60c local
shmem_get_folio 0x2a
shmem_write_begin 0x6a
shmem_write_end 0xf2
shmem_file_write_iter 0x7c local
shmem_alloc_inode 0x4a local
__shmem_get_inode 0x1fa local
shmem_mknod 0xac local
shmem_fault 0x1e4 local
shmem_undo_range 0x4c8 local
generic_perform_write 0x238
__generic_file_write_iter 0xa6
generic_file_write_iter 0xd2
filemap_alloc_folio_noprof 0xc6
__filemap_get_folio 0x2d6
filemap_add_folio 0xa0
filemap_fault 0x6e2
filemap_read 0x33c
filemap_get_pages 0x6b4 local
filemap_readahead.isra.0 0x4a local
page_cache_ra_unbounded 0x1bc
page_cache_ra_order 0x2ec
ondemand_readahead 0x2b8 local
page_cache_sync_ra 0x96
page_cache_async_ra 0x92
read_pages 0x1f6 local
ext4_file_read_iter 0x12e local
ext4_file_write_iter 0x2f2 local
ext4_da_write_begin 0x246 local
ext4_mpage_readpages 0x7a4
ext4_readahead 0x3e local
ext4_alloc_inode 0xd6 local
ext4_buffered_write_iter 0x10e local
alloc_inode 0xce local
new_inode 0x6a
iget_locked 0x1ae
d_alloc 0xa8
d_alloc_parallel 0x3a6
__d_alloc 0x1e2 local
path_openat 0xdac local
do_filp_open 0x12e
do_sys_openat2 0xac local
__x64_sys_openat 0x6a
__x64_sys_open 0x58
vfs_read 0x26e
vfs_write 0x37c
ksys_read 0xcc
ksys_write 0xcc
__x64_sys_read 0x16
__x64_sys_write 0x16
__x64_sys_pwrite64 0x92
iter_file_splice_write 0x58a
direct_splice_actor 0xee local
splice_direct_to_actor 0x1ea
do_splice_direct 0x8a
do_sendfile 0x2ca local
__x64_sys_sendfile64 0xae
do_anonymous_page 0x4a6 local
do_huge_pmd_anonymous_page 0x4b2
vma_alloc_anon_folio_pmd 0x12a local
__do_fault 0x4c local
do_read_fault 0x1c8 local
do_fault 0x36c local
do_pte_missing 0x2a local
__handle_mm_fault 0x7f6 local
handle_mm_fault 0x184
do_user_addr_fault 0x5ea local
exc_page_fault 0x76
asm_exc_page_fault 0x26 nopfx
__pte_alloc 0x9c
pte_alloc_one 0x4e
__pmd_alloc 0x136
pgd_alloc 0x12a
mm_init 0x21c local
copy_page_range 0x1082
dup_mm 0x5ea local
bprm_execve 0x5de local
do_execveat_common.isra.0 0x1b6 local
__x64_sys_execve 0x3e
load_elf_binary 0xf7a local
setup_arg_pages 0x3ae
__get_user_pages 0x5ca local
__x64_sys_mmap 0x3a
ksys_mmap_pgoff 0x19a
do_mmap 0x4d6
mmap_region 0xaf2
vm_mmap_pgoff 0xfa
__x64_sys_brk 0x2ca
do_brk_flags 0x3b6 local
alloc_pipe_info 0x1b6
pipe_write 0x632 local
anon_pipe_buf_release 0x3e local
__x64_sys_pipe2 0x14
do_pipe2 0xb2 local
sock_alloc_send_pskb 0x2a4
skb_page_frag_refill 0xf6
sk_page_frag_refill 0x24
tcp_sendmsg_locked 0xd8c
tcp_sendmsg 0x36
sock_sendmsg 0xb6 local
__sys_sendto 0x15e
__x64_sys_sendto 0x24
unix_stream_sendmsg 0x4ae local
__alloc_skb 0x1a4
alloc_skb_with_frags 0x1e2
__napi_alloc_skb 0x1d2
page_pool_alloc_pages 0x76
__page_pool_alloc_pages_slow 0x1bc local
virtnet_poll 0x5a4 local
__napi_poll 0x2c local
net_rx_action 0x316 local
handle_softirqs 0x1ce local
__irq_exit_rcu 0x8e local
irq_exit_rcu 0xe
common_interrupt 0x86
asm_common_interrupt 0x26 nopfx
blk_mq_alloc_rqs 0x2ee
blk_mq_alloc_map_and_rqs 0x60
submit_bio_noacct_nocheck 0x2d2
__submit_bio 0x1c2 local
submit_bio_noacct 0x2b4
submit_bio 0x6e
submit_bh_wbc 0x168 local
iomap_submit_ioend 0x3c local
iomap_writepages 0x82c
blkdev_writepages 0x2a local
do_writepages 0x23c
__filemap_fdatawrite_range 0x7e
filemap_write_and_wait_range 0xa2
blkdev_write_iter 0x1a8 local
bdev_release 0x13e
blkdev_release 0x10 local
__fput 0x1ae local
task_work_run 0x5c
syscall_exit_to_user_mode 0x19e
compaction_alloc 0x5a4 local
compaction_free 0x3e local
isolate_freepages_block 0x3c2 local
migrate_pages_batch 0xb42 local
migrate_pages 0x8b6
migrate_folio_move 0x1a2 local
migrate_folio_unmap 0x314 local
compact_zone 0xdc2 local
compact_node 0xf2 local
kcompactd_do_work 0x1aa local
kcompactd 0x2e6 local
kswapd 0x2c4 local
balance_pgdat 0x5e2 local
shrink_node 0x7c6 local
shrink_folio_list 0x102e local
alloc_buffer_head 0x36
folio_alloc_buffers 0x12c
create_empty_buffers 0x2e
__block_write_begin_int 0x5f6
ext4_block_write_begin 0x3c2 local
jbd2_journal_get_write_access 0x8c
jbd2_journal_commit_transaction 0x1a32
kjournald2 0x1f6 local
alloc_file_pseudo 0xb2
anon_inode_getfile 0x8a
perf_mmap 0x5ae local
__se_sys_perf_event_open 0x1a6a local
bpf_map_area_alloc 0x2a
array_map_alloc 0x1c6 local
map_create 0x6d2 local
__sys_bpf 0x2132 local
__x64_sys_bpf 0x22
load_module 0x1f42 local
init_module_from_file 0x92 local
idempotent_init_module 0x176 local
__x64_sys_finit_module 0x64
do_init_module 0x2a2 local
do_one_initcall 0x5e
module_alloc 0x70
execmem_alloc 0x56
seq_read_iter 0x426
seq_read 0xda local
proc_reg_read 0x5a local
read_page_owner 0x2b4 local
print_page_owner 0x2d6 local
stack_depot_save_flags 0x3fc
stack_depot_save 0xc
depot_alloc_stack 0x1c6 local
stack_depot_snprint 0x56
stack_trace_save 0x5a
arch_stack_walk 0xf4
__unwind_start 0x142
unwind_next_frame 0x5da
do_syscall_64 0xbe
"""

    /// Functions written as one symbol with inner labels (entry code).
    private static let entryCode: [KernelFunction] = [
        KernelFunction(name: "entry_SYSCALL_64", size: 0xae, isLocal: false, hasPrefix: false,
                       innerLabels: [("entry_SYSCALL_64_safe_stack", 0x15),
                                     ("entry_SYSCALL_64_after_hwframe", 0x25),
                                     ("entry_SYSRETQ_unsafe_stack", 0x78),
                                     ("entry_SYSRETQ_end", 0xab)]),
    ]

    static let functions: [KernelFunction] = {
        var list: [KernelFunction] = []
        for line in table.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count >= 2, let size = Int(parts[1].dropFirst(2), radix: 16) else { continue }
            list.append(KernelFunction(name: parts[0], size: size,
                                       isLocal: parts.contains("local"),
                                       hasPrefix: !parts.contains("nopfx"),
                                       innerLabels: []))
        }
        // The entry code sits right after do_syscall_64, as in arch/x86/entry.
        list.append(contentsOf: entryCode)
        // arch/x86/mm/init_64.c builds it only with SPARSEMEM_VMEMMAP (an __init function
        // kallsyms still lists in the vmlinux).
        if MemoryModel.current.hasVmemmap {
            list.append(KernelFunction(name: "vmemmap_populate", size: 0x9c, isLocal: false, hasPrefix: true, innerLabels: []))
        }
        guard Platform.current.isARM64 else { return list }
        // arm64: fixed 4-byte instructions (sizes and labels on 4 bytes), no call padding.
        return list.map { f in
            KernelFunction(name: f.name, size: (f.size + 3) & ~3, isLocal: f.isLocal, hasPrefix: false,
                           innerLabels: f.innerLabels.map { ($0.0, ($0.1 + 3) & ~3) })
        }
    }()

    /// The module's functions (brd): name and size.
    static var moduleFunctions: [(String, Int)] {
        moduleFunctionTable.map { ($0.0, Platform.current.isARM64 ? ($0.1 + 3) & ~3 : $0.1) }
    }
    private static let moduleFunctionTable: [(String, Int)] = [
        ("brd_insert_page", 0xe0),
        ("brd_do_bvec", 0x1f8),
        ("brd_submit_bio", 0x630),
        ("brd_alloc", 0x21a),
        ("brd_probe", 0x1c),
        ("brd_cleanup", 0x64),
        ("brd_free_pages", 0xa6),
    ]
}
