/// What the simulated machine did: tasks, memory cgroups and the blocks page_owner knows about.

struct SimTask {
    let pid: Int32
    let tgid: Int32
    let comm: String
}

/// What page->memcg_data holds for a block.
enum MemcgCharge: Equatable {
    case none
    case memcg(Int)     // user/page-cache pages: the mem_cgroup itself
    case objcg(Int)     // kernel pages charged through an obj_cgroup (MEMCG_DATA_KMEM)
    case slabObjExts    // slab pages with an object-extension vector (MEMCG_DATA_OBJEXTS)
}

struct SimCgroup {
    let name: String        // kernfs leaf name ("" for the root)
    let parent: Int?        // index of the parent cgroup
    let online: Bool
}

/// One page_owner record as stored for every base page of the block.
struct OwnerBlock {
    var pfn: UInt64
    var order: UInt8
    var gfp: UInt32
    var handle: UInt32
    var freeHandle: UInt32 = 0
    var ts: UInt64
    var freeTs: UInt64 = 0
    var task: Int32                 // index into tasks
    var freeTask: Int32 = -1        // index into tasks of the freeing task, -1 when never freed
    var allocated: Bool = true
    var migrateReason: Int16 = -1
    /// page->flags bits below the node/zone fields, for the head page.
    var pageFlags: UInt64 = 0
    var memcg: MemcgCharge = .none
    var isSlab: Bool = false
    var compound: Bool = false
    /// 6.19-swap: the owner was restored from swap_page_owner at swap-in (PAGE_EXT_OWNER_SWAPPED).
    var swappedIn: Bool = false
}

enum GFP {
    static let highmem: UInt32 = 0x02, movable: UInt32 = 0x08, reclaimable: UInt32 = 0x10
    static let high: UInt32 = 0x20, io: UInt32 = 0x40, fs: UInt32 = 0x80, zero: UInt32 = 0x100
    static let directReclaim: UInt32 = 0x400, kswapdReclaim: UInt32 = 0x800
    static let nowarn: UInt32 = 0x2000, retryMayfail: UInt32 = 0x4000, noretry: UInt32 = 0x10000
    static let comp: UInt32 = 0x40000, nomemalloc: UInt32 = 0x80000, hardwall: UInt32 = 0x100000
    static let thisnode: UInt32 = 0x200000, account: UInt32 = 0x400000
    static let reclaim = directReclaim | kswapdReclaim
    static let kernel = reclaim | io | fs
    static let kernelAccount = kernel | account
    static let nowait = kswapdReclaim | nowarn
    static let noio = reclaim
    static let user = kernel | hardwall
    static let highuserMovable = user | highmem | movable
    static let transhuge = ((highuserMovable | comp | nomemalloc | nowarn) & ~reclaim) | directReclaim

    /// gfp_migratetype(): 0 Unmovable, 1 Movable, 2 Reclaimable.
    static func migratetype(_ gfp: UInt32) -> Int { Int((gfp & (movable | reclaimable)) >> 3) }
}

enum PageFlag {
    static let referenced: UInt64 = 1 << 2, uptodate: UInt64 = 1 << 3, dirty: UInt64 = 1 << 4
    static let lru: UInt64 = 1 << 5, head: UInt64 = 1 << 6, active: UInt64 = 1 << 8
    static let workingset: UInt64 = 1 << 9, reserved: UInt64 = 1 << 13, privateFlag: UInt64 = 1 << 14
    static let swapbacked: UInt64 = 1 << 17
    static let count = 20  // __NR_PAGEFLAGS
    /// Field positions in page->flags, from the top bit down (page-flags-layout.h): the section
    /// number only for SPARSEMEM without VMEMMAP (SECTIONS_SHIFT 46 - 27 = 19 bits), the node
    /// with NUMA (NODES_SHIFT: x86_64 6, arm64 4), the zone (ZONES_SHIFT 2).
    static var sectionsWidth: UInt64 { MemoryModel.current.isSparse && !MemoryModel.current.hasVmemmap ? 19 : 0 }
    static var sectionsShift: UInt64 { 64 - sectionsWidth }
    static var nodesWidth: UInt64 { MemoryModel.current.isNUMA ? Platform.current.nodesShift : 0 }
    static var nodesShift: UInt64 { sectionsShift - nodesWidth }
    static var zonesShift: UInt64 { nodesShift - 2 }

    /// The section, node (0) and zone fields of pfn's page->flags.
    static func fields(ofPfn pfn: UInt64) -> UInt64 {
        let section = sectionsWidth == 0 ? 0 : (pfn >> (MachineLayout.sectionShift - MachineLayout.pageShift)) << sectionsShift
        return section | MachineLayout.zone(ofPfn: pfn) << zonesShift
    }
}
