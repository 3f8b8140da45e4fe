import Foundation

// The 6.19-swap profile: vmsim's model of "[PATCH RFC 0/9] mm/page_owner: add support for pages
// in swap space" (Mauricio Faria de Oliveira, Dec 2025; kernel-facts §3). The RFC's own names
// and record layout could not be read, so this model names its own; a reader implements
// against this description.
//
// Kernel state (all in the vmlinux DWARF and symbols):
// - `static struct xarray swap_page_owner_xa` (mm/page_owner.c): an ordinary xarray (§3.3)
//   keyed by `swp_entry_t.val` = swap type << 58 | swap offset (SWP_TYPE_SHIFT 58). Nodes are
//   `struct xa_node` with 64 slots; xa_head and node slots hold nodes as (node | 2).
// - A present entry is a plain pointer to a kmalloc'd `struct swap_page_owner`, the owner record
//   saved at swap-out: handle (allocation stack), order, gfp_mask, pid, tgid, comm[16], ts_nsec.
// - The tree also holds entries that are NOT records, which a walker must skip:
//   value entries (bit 0 set; xa_mk_value of the stack handle, left where the record copy could
//   not be allocated) and XA_RETRY_ENTRY (0x402, left by a node being freed). NULL and
//   XA_ZERO_ENTRY (0x406) are empty too.
// - Two swap devices (types 0 and 1), so the tree has a root at shift 54 and chains of nodes
//   down to the leaves (shift 0); type 1's offsets span several leaves.
// - page_ext flags gain PAGE_EXT_OWNER_SWAPPED (bit 2, in enum page_ext_flags): the page's owner
//   record was restored from swap at swap-in (stack, ts, pid, tgid, comm are the original
//   allocation's). page_owner prints such records with " (swapped)" at the end of line 1.
//
// Refcounts: swap-out frees the page (__reset_page_owner subtracts its pages from the stack as
// usual); swap-in restores the original handle and moves the count from the swap-in stack back
// to the original one. So the stack_record counts (and show_stacks.txt) cover resident pages only.
//
// Expected files:
// - swap_page_owner.txt: per record, in xarray index order:
//   `Page allocated via pid %d, tgid %d (%s), ts %llu ns`, `SWP entry 0x%lx` (the key), the
//   stack lines (" %pS"), a blank line.
// - show_stacks_swap.txt: show_stacks with swapped-out pages counted under their allocation
//   stacks: the stack_list order (newest first, then dummy, failure), nr_base_pages = refcount
//   − 1 + the base pages (1 << order) of every xarray record with that handle; stacks with
//   fewer than 1 page are skipped.

enum SwapPageOwnerDeclarations {
    static let types = """

    /* ---- swap_page_owner (RFC model, see vmsim SwapPageOwner.swift) ---- */
    typedef struct { unsigned long val; } swp_entry_t;
    struct swap_page_owner {
    	depot_stack_handle_t handle;
    	unsigned short order;
    	gfp_t gfp_mask;
    	pid_t pid;
    	pid_t tgid;
    	char comm[TASK_COMM_LEN];
    	u64 ts_nsec;
    };

    """
    static let globals = "static struct xarray swap_page_owner_xa __used;\nswp_entry_t swap_page_owner_last_entry __used;\n"
    static let layoutQueries: [(key: String, expr: String)] = {
        var q: [(String, String)] = [("SIZE(xa_node)", "sizeof(struct xa_node)"), ("SIZE(swap_page_owner)", "sizeof(struct swap_page_owner)")]
        for f in ["shift", "offset", "count", "nr_values", "parent", "array", "slots"] {
            q.append(("OFFSET(xa_node.\(f))", "offsetof(struct xa_node, \(f))"))
        }
        q.append(("OFFSET(xarray.xa_head)", "offsetof(struct xarray, xa_head)"))
        for f in ["handle", "order", "gfp_mask", "pid", "tgid", "comm", "ts_nsec"] {
            q.append(("OFFSET(swap_page_owner.\(f))", "offsetof(struct swap_page_owner, \(f))"))
        }
        return q
    }()
}

/// What went to swap: records keyed by swap entry, plus the non-record entries of the tree.
final class SwapPageOwnerModel {
    struct Record { let key: UInt64; let block: OwnerBlock }
    static let typeShift: UInt64 = 58
    static let retryEntry: UInt64 = 0x402

    private(set) var records: [Record] = []
    /// Raw slot values that are not records (value and retry entries), by key.
    private(set) var others: [(key: UInt64, raw: UInt64)] = []

    /// Swaps out every 4th allocated order-0 anon/shmem page (journald's anon faults go to
    /// swap type 0, dd's tmpfs pages to type 1) and marks every 7th remaining one as swapped
    /// back in with its record restored.
    init(blocks: inout [OwnerBlock], tasks: [SimTask], depot: StackDepotModel, now: UInt64,
         stack: ([String], String) -> UInt32) {
        let anon = stack(CallChains.anonFault, "__set_page_owner")
        let shmem = stack(CallChains.shmemWrite, "__set_page_owner")
        let freeHandle = stack(CallChains.freeExit, "__reset_page_owner")
        var t = now + 40_000_000
        var n = [0, 0], seen = 0
        for i in blocks.indices where blocks[i].allocated && blocks[i].order == 0 {
            let b = blocks[i]
            guard b.handle == anon || b.handle == shmem else { continue }
            seen += 1
            if seen % 4 == 0 {
                let type: UInt64 = b.handle == anon ? 0 : 1
                let k = n[Int(type)]
                n[Int(type)] += 1
                let offset: UInt64 = type == 0 ? 0x40 + UInt64(k) * 3 : 0x1000 + UInt64(k) * 37
                records.append(Record(key: type << SwapPageOwnerModel.typeShift | offset, block: b))
                if k % 9 == 4 { others.append((type << SwapPageOwnerModel.typeShift | (offset + 1), UInt64(b.handle) << 1 | 1)) }
                if k % 13 == 6 { others.append((type << SwapPageOwnerModel.typeShift | (offset + 2), SwapPageOwnerModel.retryEntry)) }
                t += 20_000 + UInt64(k % 50) * 1_000
                var f = b
                f.allocated = false
                f.freeHandle = freeHandle
                f.freeTs = t
                f.freeTask = f.task
                f.memcg = .none
                f.pageFlags = 0
                blocks[i] = f
                depot.decrement(b.handle, pages: 1)
            } else if seen % 7 == 0 {
                blocks[i].swappedIn = true
            }
        }
        records.sort { $0.key < $1.key }
    }

    /// Base pages in swap per allocation handle.
    var pagesByHandle: [UInt32: Int32] {
        var out: [UInt32: Int32] = [:]
        for r in records { out[r.block.handle, default: 0] += Int32(1) << Int32(r.block.order) }
        return out
    }
}

/// Writes the xarray and its records into kernel memory, and the expected swap files.
struct SwapPageOwnerWriter {
    let sim: Simulator

    func write() throws {
        guard let model = sim.workload.swap else { return }
        let L = sim.layouts!, kmem = sim.kmem!, heap = sim.heap!
        let tasks = sim.workload.tasks
        var slots: [(UInt64, UInt64)] = []
        for r in model.records {
            let rec = sim.heap.alloc(Int(L.size("swap_page_owner")), align: 8)
            let b = r.block, task = tasks[Int(b.task)]
            func o(_ f: String) -> UInt64 { rec + L.offset("swap_page_owner", f) }
            kmem.writeU32(o("handle"), b.handle)
            kmem.writeU16(o("order"), UInt16(b.order))
            kmem.writeU32(o("gfp_mask"), b.gfp)
            kmem.writeU32(o("pid"), UInt32(bitPattern: task.pid))
            kmem.writeU32(o("tgid"), UInt32(bitPattern: task.tgid))
            kmem.write(o("comm"), Array(task.comm.utf8.prefix(15)) + [0])
            kmem.writeU64(o("ts_nsec"), b.ts)
            slots.append((r.key, rec))
        }
        slots += model.others.map { ($0.key, $0.raw) }
        slots.sort { $0.0 < $1.0 }
        let xa = sim.sym("swap_page_owner_xa")
        let maxKey = slots.last?.0 ?? 0
        var shift: UInt64 = 0
        while shift < 60 && maxKey >> (shift + 6) != 0 { shift += 6 }
        let head = slots.isEmpty ? 0 : buildNode(slots, shift: shift, base: 0, parent: 0, offset: 0, xa: xa, L: L, kmem: kmem, heap: heap)
        kmem.writeU64(xa + L.offset("xarray", "xa_head"), head == 0 ? 0 : head | 2)
        if let last = model.records.last { kmem.writeU64(sim.sym("swap_page_owner_last_entry"), last.key) }
    }

    /// One xa_node covering [base, base + 64 << shift); returns its address.
    private func buildNode(_ entries: [(UInt64, UInt64)], shift: UInt64, base: UInt64, parent: UInt64, offset: Int,
                           xa: UInt64, L: Layouts, kmem: KernelMemory, heap: KernelHeap) -> UInt64 {
        let node = heap.alloc(Int(L.size("xa_node")), align: 64)
        var bySlot: [Int: [(UInt64, UInt64)]] = [:]
        for e in entries { bySlot[Int(((e.0 &- base) >> shift) & 63), default: []].append(e) }
        var count = 0, values = 0
        for (slot, list) in bySlot.sorted(by: { $0.key < $1.key }) {   // slot order: the same seed, the same bytes
            let value: UInt64
            if shift == 0 {
                value = list[0].1
                if value & 1 == 1 { values += 1 }
            } else {
                let child = buildNode(list, shift: shift - 6, base: base + (UInt64(slot) << shift), parent: node,
                                      offset: slot, xa: xa, L: L, kmem: kmem, heap: heap)
                value = child | 2
            }
            kmem.writeU64(node + L.offset("xa_node", "slots") + UInt64(slot) * 8, value)
            count += 1
        }
        kmem.writeU8(node + L.offset("xa_node", "shift"), UInt8(shift))
        kmem.writeU8(node + L.offset("xa_node", "offset"), UInt8(offset))
        kmem.writeU8(node + L.offset("xa_node", "count"), UInt8(count))
        kmem.writeU8(node + L.offset("xa_node", "nr_values"), UInt8(values))
        kmem.writeU64(node + L.offset("xa_node", "parent"), parent)
        kmem.writeU64(node + L.offset("xa_node", "array"), xa)
        return node
    }

    func writeExpected(_ dir: URL, stackText: [UInt32: String]) throws {
        guard let model = sim.workload.swap else { return }
        let tasks = sim.workload.tasks
        var text = ""
        for r in model.records {
            let t = tasks[Int(r.block.task)]
            text += "Page allocated via pid \(t.pid), tgid \(t.tgid) (\(t.comm.prefix(15))), ts \(r.block.ts) ns\n"
            text += "SWP entry 0x\(String(r.key, radix: 16))\n" + (stackText[r.block.handle] ?? "") + "\n"
        }
        try text.write(to: dir.appendingPathComponent("swap_page_owner.txt"), atomically: true, encoding: .utf8)
        let swapped = model.pagesByHandle
        var stacks = ""
        for (h, pages, _) in ExpectedOutput(sim: sim).stackCounts() {
            let n = pages &+ (swapped[h] ?? 0)
            if n >= 1 { stacks += (stackText[h] ?? "") + "nr_base_pages: \(n)\n\n" }
        }
        try stacks.write(to: dir.appendingPathComponent("show_stacks_swap.txt"), atomically: true, encoding: .utf8)
    }
}
