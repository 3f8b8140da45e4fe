/// The workload behind the dump: boot, kernel threads, services, a `dd` into tmpfs, the brd
/// module, a database filling most of memory, a process that exited, compaction. Produces the
/// owner blocks, the stack depot contents and the tasks/cgroups they refer to.
final class Workload {
    private(set) var tasks: [SimTask] = []
    private(set) var cgroups: [SimCgroup] = []
    private(set) var blocks: [OwnerBlock] = []
    /// Allocated pages that page_owner never stamped (the first depot pool, before init).
    private(set) var untracked: [(UInt64, UInt64)] = []
    let depot = StackDepotModel()
    private(set) var dummyHandle: UInt32 = 0
    private(set) var failureHandle: UInt32 = 0
    private(set) var earlyHandle: UInt32 = 0
    private(set) var now: UInt64 = 0
    /// Pages vmalloc'd by modprobe for the module's memory.
    private(set) var moduleBlocks: [Int] = []
    /// Pages brd and the tmpfs `dd` allocated, which their allocation tags count.
    private(set) var brdPagesAllocated = 0
    private(set) var shmemPagesAllocated = 0
    /// 6.19-swap: what went to swap and came back (SwapPageOwner.swift).
    private(set) var swap: SwapPageOwnerModel?

    private let allocator: PageAllocator
    private let symbols: SymbolResolver
    private let kmem: KernelMemory
    private var rng: SeededRandom
    private let totalPages: UInt64
    private var pageOwnerActive = false
    private var currentTask: Int32 = 0
    private var poolGfp: UInt32 = 0

    init(allocator: PageAllocator, symbols: SymbolResolver, kmem: KernelMemory, totalPages: UInt64, seed: UInt64) {
        self.allocator = allocator
        self.symbols = symbols
        self.kmem = kmem
        self.totalPages = totalPages
        self.rng = SeededRandom(seed: seed ^ 0x5eed_f00d)
        depot.allocatePool = { [unowned self] in self.allocatePool() }
    }

    // MARK: building blocks

    private func addTask(_ pid: Int32, _ tgid: Int32, _ comm: String) -> Int32 {
        tasks.append(SimTask(pid: pid, tgid: tgid, comm: comm))
        return Int32(tasks.count - 1)
    }

    private func addCgroup(_ name: String, parent: Int?, online: Bool = true) -> Int {
        cgroups.append(SimCgroup(name: name, parent: parent, online: online))
        return cgroups.count - 1
    }

    private func tick(_ lo: UInt64, _ hi: UInt64) { now += lo + rng.below(hi - lo + 1) }

    /// Pools come from the page allocator; once page_owner runs, their pages are stamped with
    /// dummy_handle (the allocation happens inside page_owner) and counted on the dummy stack.
    private func allocatePool() -> UInt64 {
        // DEPOT_POOL_ORDER 2: four pages.
        guard let pfn = allocator.allocate(order: 2, migratetype: 0) else { fatalError("vmsim: no memory for stack depot pools") }
        if pageOwnerActive {
            blocks.append(OwnerBlock(pfn: pfn, order: 2, gfp: poolGfp, handle: dummyHandle, ts: now, task: currentTask))
            depot.incrementAllocation(dummyHandle, pages: 4)
        } else {
            untracked.append((pfn, pfn + 4))
        }
        return kmem.directMap(pfn << MachineLayout.pageShift)
    }

    func stack(_ chain: [String], leaf: String = "__set_page_owner") -> UInt32 {
        return depot.save(symbols.entries(chain, leafCallee: leaf))
    }

    /// One allocation as __set_page_owner records it. Returns the block index.
    @discardableResult
    private func alloc(_ task: Int32, _ chain: [String], order: Int, gfp: UInt32, flags: UInt64 = 0,
                       memcg: MemcgCharge = .none, slab: Bool = false, mt: Int? = nil) -> Int? {
        currentTask = task
        poolGfp = (gfp & (GFP.kernel | GFP.high)) | GFP.noretry | GFP.nomemalloc | GFP.nowarn
        let handle = stack(chain)
        guard let pfn = allocator.allocate(order: order, migratetype: mt ?? GFP.migratetype(gfp)) else { return nil }
        tick(800, 9000)
        let compound = order > 0 && gfp & GFP.comp != 0
        var b = OwnerBlock(pfn: pfn, order: UInt8(order), gfp: gfp, handle: handle, ts: now, task: task)
        b.pageFlags = flags | (compound ? PageFlag.head : 0)
        b.memcg = memcg
        b.isSlab = slab
        b.compound = compound
        blocks.append(b)
        depot.incrementAllocation(handle, pages: 1 << order)
        return blocks.count - 1
    }

    /// __reset_page_owner: the block keeps its owner, loses ALLOCATED, gains the free stack.
    private func free(_ index: Int, by task: Int32, _ chain: [String]) {
        let handle = stack(chain, leaf: "__reset_page_owner")
        tick(500, 4000)
        var b = blocks[index]
        b.allocated = false
        b.freeHandle = handle
        b.freeTs = now
        b.freeTask = task
        b.memcg = .none
        b.pageFlags = 0
        b.isSlab = false
        blocks[index] = b
        if b.handle != earlyHandle { depot.decrement(b.handle, pages: 1 << Int(b.order)) }
    }

    private func scaled(_ perGiB: Double, min lo: Int = 1) -> Int {
        return max(lo, Int(perGiB * Double(totalPages) / 262144.0))
    }

    // MARK: the scenario

    func run() {
        runScenario()
        if KernelProfile.current.swapPageOwner {
            let stackOf: ([String], String) -> UInt32 = { [unowned self] in self.stack($0, leaf: $1) }
            swap = SwapPageOwnerModel(blocks: &blocks, tasks: tasks, depot: depot, now: now, stack: stackOf)
        }
    }

    private func runScenario() {
        let swapper = addTask(0, 0, "swapper")
        let root = addCgroup("", parent: nil)
        let systemSlice = addCgroup("system.slice", parent: root)
        let userSlice = addCgroup("user.slice", parent: root)
        let session = addCgroup("session-1.scope", parent: userSlice)
        let postgresCg = addCgroup("postgresql.service", parent: systemSlice)
        let journaldCg = addCgroup("systemd-journald.service", parent: systemSlice)
        let work = addCgroup("work", parent: root)
        let oldJob = addCgroup("old-job", parent: root, online: false)

        // page_owner init at ~0.227 s: the three special stacks go into the first pool, which
        // is allocated before the static key is on.
        now = 226_800_000 + rng.below(200_000)
        currentTask = swapper
        dummyHandle = stack(CallChains.dummy, leaf: "create_dummy_stack")
        failureHandle = stack(CallChains.failure, leaf: "create_dummy_stack")
        earlyHandle = stack(CallChains.early, leaf: "create_dummy_stack")
        depot.setCount(dummyHandle, 1)
        depot.setCount(failureHandle, 1)
        pageOwnerActive = true

        // Pages allocated before page_owner existed: order 0, gfp 0, early_handle, not counted.
        for _ in 0..<scaled(1400, min: 300) {
            guard let pfn = allocator.allocate(order: 0, migratetype: 0) else { break }
            now += 110 + rng.below(300)
            blocks.append(OwnerBlock(pfn: pfn, order: 0, gfp: 0, handle: earlyHandle, ts: now, task: swapper))
        }

        // Kernel threads and early kernel allocations (0.23 s .. 0.9 s).
        now = 228_400_000
        let kthreadd = addTask(2, 2, "kthreadd")
        for _ in 0..<scaled(160, min: 40) {
            alloc(kthreadd, CallChains.kthreadStack, order: 0, gfp: GFP.kernel | GFP.highmem | GFP.nowarn | GFP.zero)
        }
        let kworker = addTask(31, 31, "kworker/u8:1")
        for _ in 0..<scaled(90, min: 20) {
            alloc(kworker, CallChains.netRx, order: 0, gfp: GFP.nowait | GFP.comp | GFP.nomemalloc)
        }

        // Kernel workers and daemons with many different allocation sites.
        let bgTasks = [kworker, addTask(12, 12, "kworker/0:1"), addTask(58, 58, "kworker/1:2H"),
                       addTask(402, 402, "udevadm"), addTask(415, 415, "systemd-udevd")]
        for i in 0..<CallChains.backgroundCount {
            for k in 0..<(1 + Int(rng.below(UInt64(scaled(6, min: 2))))) {
                let gfp = i % 3 == 2 ? GFP.kernelAccount : GFP.kernel | (k % 2 == 0 ? GFP.zero : GFP.nowarn)
                alloc(bgTasks[(i + k) % bgTasks.count], CallChains.background(i), order: Int(rng.below(4)),
                      gfp: gfp | GFP.comp, memcg: gfp & GFP.account != 0 ? .objcg(root) : .none)
            }
        }

        // systemd and friends (0.9 s .. 2 s).
        now = 900_000_000 + rng.below(50_000_000)
        let systemd = addTask(1, 1, "systemd")
        for i in 0..<scaled(2400, min: 200) {
            let order = i % 5 == 0 ? 2 : 0
            alloc(systemd, CallChains.pageCacheFault, order: order, gfp: GFP.highuserMovable | GFP.comp,
                  flags: PageFlag.referenced | PageFlag.uptodate | PageFlag.lru | (order > 0 ? 0 : PageFlag.active),
                  memcg: .memcg(root))
        }
        for i in 0..<scaled(300, min: 30) {
            let chain = [CallChains.slabDentry, CallChains.slabExt4Inode, CallChains.slabInode][i % 3]
            let order = [0, 1, 3][i % 3]
            alloc(systemd, chain, order: order,
                  gfp: GFP.kernel | GFP.nowarn | GFP.noretry | GFP.comp | GFP.reclaimable,
                  memcg: i % 2 == 0 ? .slabObjExts : .none, slab: true)
        }
        for _ in 0..<scaled(60, min: 8) {
            alloc(systemd, CallChains.pgdAlloc, order: 0, gfp: GFP.kernelAccount | GFP.zero, memcg: .objcg(root))
        }
        let journald = addTask(291, 291, "systemd-journal")
        for i in 0..<scaled(1800, min: 100) {
            if i % 3 == 0 {
                alloc(journald, CallChains.pageTable, order: 0, gfp: GFP.kernelAccount | GFP.zero, memcg: .objcg(journaldCg))
            } else {
                alloc(journald, CallChains.anonFault, order: 0, gfp: GFP.highuserMovable | GFP.comp,
                      flags: PageFlag.uptodate | PageFlag.lru | PageFlag.swapbacked, memcg: .memcg(journaldCg))
            }
        }
        let jbd = addTask(287, 287, "jbd2/vda1-8")
        for _ in 0..<scaled(400, min: 40) {
            alloc(jbd, CallChains.journal, order: 0, gfp: GFP.noio | GFP.io | GFP.movable | GFP.nofailFree,
                  flags: PageFlag.referenced | PageFlag.uptodate | PageFlag.lru | PageFlag.privateFlag, memcg: .memcg(root))
        }

        // brd is loaded and written through /dev/ram0 (~2.4 s).
        now = 2_400_000_000 + rng.below(100_000_000)
        let modprobe = addTask(352, 352, "modprobe")
        for _ in 0..<8 {
            if let b = alloc(modprobe, CallChains.moduleMemory, order: 0, gfp: GFP.kernel | GFP.highmem | GFP.nowarn) {
                moduleBlocks.append(b)
            }
        }
        let ddRam = addTask(360, 360, "dd")
        let brdPages = min(2048, scaled(2048, min: 256))
        for i in 0..<brdPages {
            if i % 128 == 0 {
                alloc(ddRam, CallChains.slabXarrayBrd, order: 0, gfp: GFP.noio | GFP.nowarn | GFP.noretry | GFP.comp,
                      memcg: .slabObjExts, slab: true)
            }
            if alloc(ddRam, CallChains.brdPage, order: 0, gfp: GFP.noio | GFP.zero | GFP.highmem) != nil { brdPagesAllocated += 1 }
        }
        for _ in 0..<scaled(64, min: 16) {
            alloc(ddRam, CallChains.blkdevPageCache, order: 0, gfp: GFP.user | GFP.comp,
                  flags: PageFlag.referenced | PageFlag.uptodate | PageFlag.lru, memcg: .memcg(root))
        }

        // A login shell with pipes and sockets (objcg-charged kernel pages, high orders).
        now = 3_100_000_000 + rng.below(100_000_000)
        let sshd = addTask(512, 512, "sshd")
        let bash = addTask(530, 530, "bash")
        for _ in 0..<scaled(40, min: 6) {
            alloc(sshd, CallChains.sockFrag, order: 3, gfp: GFP.kernel | GFP.comp | GFP.nowarn | GFP.noretry | GFP.nomemalloc,
                  memcg: .memcg(session))
            alloc(sshd, CallChains.slabSkb, order: 2, gfp: GFP.kernel | GFP.nowarn | GFP.noretry | GFP.comp,
                  memcg: .slabObjExts, slab: true)
        }
        var pipeBlocks: [Int] = []
        for _ in 0..<scaled(120, min: 12) {
            if let b = alloc(bash, CallChains.pipeWrite, order: 0, gfp: GFP.highuserMovable & ~GFP.movable | GFP.account,
                             memcg: .objcg(session)) { pipeBlocks.append(b) }
        }
        for _ in 0..<scaled(30, min: 4) {
            alloc(bash, CallChains.slabKmalloc, order: 1, gfp: GFP.kernelAccount | GFP.nowarn | GFP.noretry | GFP.comp,
                  memcg: .slabObjExts, slab: true)
        }
        for _ in 0..<scaled(4, min: 2) {
            alloc(bash, CallChains.kmallocLarge, order: 4, gfp: GFP.kernelAccount | GFP.comp | GFP.nowarn | GFP.noretry,
                  memcg: .objcg(session))
        }
        for _ in 0..<scaled(60, min: 8) {
            alloc(bash, CallChains.forkStack, order: 0, gfp: GFP.kernel | GFP.highmem | GFP.nowarn | GFP.zero)
        }

        // A build job in a cgroup that was removed since: its page cache stays charged to an
        // offline memcg.
        now = 4_000_000_000 + rng.below(200_000_000)
        let make = addTask(701, 701, "make")
        for i in 0..<scaled(900, min: 60) {
            alloc(make, CallChains.pageCacheRead, order: i % 4 == 0 ? 2 : 0, gfp: GFP.highuserMovable | GFP.noretry | GFP.nowarn | GFP.comp,
                  flags: PageFlag.referenced | PageFlag.uptodate | PageFlag.lru, memcg: .memcg(oldJob))
        }
        // A compressor that exited: its pages are free but keep their last owner.
        let gzip = addTask(744, 744, "gzip")
        var gzipBlocks: [Int] = []
        for _ in 0..<scaled(3000, min: 300) {
            if let b = alloc(gzip, CallChains.anonFault, order: 0, gfp: GFP.highuserMovable | GFP.comp,
                             flags: PageFlag.uptodate | PageFlag.lru | PageFlag.swapbacked, memcg: .memcg(session)) {
                gzipBlocks.append(b)
            }
        }
        for _ in 0..<scaled(12, min: 2) {
            alloc(gzip, CallChains.execArgs, order: 0, gfp: GFP.highuserMovable | GFP.comp,
                  flags: PageFlag.uptodate | PageFlag.lru | PageFlag.swapbacked, memcg: .memcg(session))
        }
        tick(30_000_000, 90_000_000)
        for b in gzipBlocks { free(b, by: gzip, CallChains.freeExit) }
        for b in pipeBlocks.prefix(pipeBlocks.count / 2) { free(b, by: bash, CallChains.freeSlab) }

        // dd if=/dev/zero of=/tmp/file bs=1M count=64 in cgroup "work", as in the kernel's
        // page_owner documentation (capped at a quarter of RAM on tiny machines). Some of its
        // pages reuse gzip's freed pages, so they show an older free stack.
        now = 5_200_000_000 + rng.below(300_000_000)
        let dd = addTask(1203, 1203, "dd")
        let ddPages = min(16384, Int(totalPages / 4))
        var reuse = gzipBlocks.prefix(min(gzipBlocks.count / 3, ddPages / 8)).makeIterator()
        let shmemFlags = PageFlag.referenced | PageFlag.uptodate | PageFlag.dirty | PageFlag.lru | PageFlag.swapbacked
        var ddBlocks: [Int] = []
        for i in 0..<ddPages {
            if i % 64 == 0 {
                alloc(dd, CallChains.slabXarrayShmem, order: 0, gfp: GFP.nowait | GFP.noretry | GFP.comp | GFP.thisnode,
                      memcg: .slabObjExts, slab: true)
            }
            if i % 5 == 0, let old = reuse.next() {
                // The page allocator hands out a page gzip freed: page_ext keeps the free info.
                let h = stack(CallChains.shmemWrite)
                tick(800, 9000)
                var b = blocks[old]
                b.allocated = true
                b.order = 0
                b.gfp = GFP.highuserMovable | GFP.comp
                b.handle = h
                b.ts = now
                b.task = dd
                b.pageFlags = shmemFlags
                b.memcg = .memcg(work)
                b.migrateReason = -1
                blocks[old] = b
                depot.incrementAllocation(h, pages: 1)
                ddBlocks.append(old)
            } else if let b = alloc(dd, CallChains.shmemWrite, order: 0, gfp: GFP.highuserMovable | GFP.comp,
                                    flags: shmemFlags, memcg: .memcg(work)) {
                ddBlocks.append(b)
            }
        }

        shmemPagesAllocated = ddBlocks.count

        // The database fills most of the remaining memory: THPs, anon pages, page cache.
        now = 9_000_000_000 + rng.below(500_000_000)
        let postgres = addTask(1024, 1024, "postgres")
        let workers = (0..<4).map { addTask(1025 + Int32($0), 1024, "postgres: walwr") }
        var pgAnon: [Int] = []
        let budget = Int(Double(allocator.freePageblocks) * 0.80)
        var i = 0
        while allocator.freePageblocks > max(8, Int(Double(budget) * 0.25)) && i < 40_000_000 {
            let who = i % 7 == 0 ? workers[i % 4] : postgres
            switch i % 10 {
            case 0, 1:
                alloc(who, CallChains.thpFault, order: 9, gfp: GFP.transhuge,
                      flags: PageFlag.uptodate | PageFlag.lru | PageFlag.swapbacked, memcg: .memcg(postgresCg))
            case 2, 3, 4, 5:
                for _ in 0..<4 {
                    alloc(who, CallChains.pageCacheRead, order: 2, gfp: GFP.highuserMovable | GFP.noretry | GFP.nowarn | GFP.comp,
                          flags: PageFlag.referenced | PageFlag.uptodate | PageFlag.lru, memcg: .memcg(postgresCg))
                }
            default:
                for _ in 0..<6 {
                    if let b = alloc(who, CallChains.anonFault, order: 0, gfp: GFP.highuserMovable | GFP.comp,
                                     flags: PageFlag.uptodate | PageFlag.lru | PageFlag.swapbacked | PageFlag.active,
                                     memcg: .memcg(postgresCg)), pgAnon.count < 64 { pgAnon.append(b) }
                }
            }
            if i % 97 == 0 { allocator.skip(migratetype: 1, pages: 1 + rng.below(5)) }
            // Memory is tight: the unmovable and reclaimable free lists run dry and
            // __rmqueue_fallback takes pages from the movable block being filled, with too few
            // free pages to claim it. The block stays movable and becomes mixed.
            if i % 13 == 5 && rng.chance(50) {
                if rng.chance(50) {
                    alloc(kworker, CallChains.netRx, order: 0, gfp: GFP.nowait | GFP.comp | GFP.nomemalloc, mt: 1)
                } else {
                    alloc(systemd, CallChains.slabDentry, order: 0, gfp: GFP.kernel | GFP.nowarn | GFP.noretry | GFP.comp | GFP.reclaimable,
                          memcg: .slabObjExts, slab: true, mt: 1)
                }
            }
            i += 1
        }
        // And the other way round: page cache that found free pages only in the current
        // unmovable and reclaimable blocks.
        for k in 0..<(2 + Int(rng.below(3))) {
            alloc(postgres, CallChains.pageCacheRead, order: 0, gfp: GFP.highuserMovable | GFP.noretry | GFP.nowarn | GFP.comp,
                  flags: PageFlag.referenced | PageFlag.uptodate | PageFlag.lru, memcg: .memcg(postgresCg), mt: k % 2 == 0 ? 0 : 2)
        }

        // kcompactd migrates a few movable pages: the new page inherits the owner and gets
        // the migrate reason; the old page carries the migration-target stack and is freed.
        now += 2_000_000_000
        let kcompactd = addTask(45, 45, "kcompactd0")
        for old in (pgAnon.prefix(3) + ddBlocks.suffix(2)) { migrate(old, by: kcompactd) }
    }

    private func migrate(_ oldIndex: Int, by task: Int32) {
        let old = blocks[oldIndex]
        guard old.order == 0, old.allocated else { return }
        let migrateHandle = stack(CallChains.compactionTarget)
        currentTask = task
        guard let pfn = allocator.allocate(order: 0, migratetype: 1) else { return }
        tick(2000, 20000)
        depot.incrementAllocation(migrateHandle, pages: 1)
        var moved = old
        moved.pfn = pfn
        moved.migrateReason = 0           // MR_COMPACTION
        moved.freeTask = task             // __update_page_owner_free_handle records current
        moved.freeHandle = 0
        blocks.append(moved)
        var src = old
        src.handle = migrateHandle
        blocks[oldIndex] = src
        free(oldIndex, by: task, CallChains.freeMigrated)
    }
}

extension GFP {
    /// jbd2 buffers: GFP_NOFS | __GFP_MOVABLE | __GFP_NOFAIL
    static let nofailFree: UInt32 = 0x8000
}
