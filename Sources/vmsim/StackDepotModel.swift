/// The stack depot: records in 16 KiB pools, handles and record sizes as the profile lays
/// them out (KernelProfile), and the refcounts page_owner keeps (6.9+).
final class StackDepotModel {
    /// DEPOT_POOL_SIZE: 4 pages.
    static var poolSize: Int { Int(MachineLayout.pageSize) << 2 }
    static let saturated: UInt32 = 0xc000_0000
    static var maxPools: Int { KernelProfile.current.depotMaxPools }

    struct Record {
        let entries: [UInt64]      // runtime addresses
        let hash: UInt32
        let handle: UInt32
        let pool: Int
        let offset: Int
        var count: UInt32
    }
    let profile = KernelProfile.current

    private(set) var records: [Record] = []
    private var byEntries: [[UInt64]: Int] = [:]
    private var byHandle: [UInt32: Int] = [:]
    /// Direct-map VA of each pool.
    private(set) var poolAddresses: [UInt64] = []
    private(set) var poolOffset = StackDepotModel.poolSize
    /// page_owner's stack_list, newest first (record indices; dummy/failure are added at write).
    private(set) var stackList: [Int] = []
    /// Called to get a new pool's VA (the caller allocates and accounts the pages).
    var allocatePool: () -> UInt64 = { fatalError("no pool allocator") }

    func save(_ entries: [UInt64]) -> UInt32 {
        if let i = byEntries[entries] { return records[i].handle }
        let size = profile.recordBytes(frames: entries.count)
        if poolOffset + size > StackDepotModel.poolSize {
            precondition(poolAddresses.count < StackDepotModel.maxPools, "stack depot full")
            poolAddresses.append(allocatePool())
            poolOffset = 0
        }
        let pool = poolAddresses.count - 1
        let handle = profile.handle(pool: pool, offset: poolOffset)
        var h: UInt64 = 0x9747_b28c
        for e in entries { h = (h ^ e) &* 0x100_0000_01b3; h ^= h >> 29 }
        let rec = Record(entries: entries, hash: UInt32(truncatingIfNeeded: h), handle: handle, pool: pool, offset: poolOffset,
                         count: profile.hasStackList ? StackDepotModel.saturated : 1)
        poolOffset += size
        records.append(rec)
        byEntries[entries] = records.count - 1
        byHandle[handle] = records.count - 1
        return handle
    }

    func record(_ handle: UInt32) -> Record? { byHandle[handle].map { records[$0] } }

    /// page_owner's inc_stack_record_count: first use moves SATURATED to 1 and lists the stack.
    func incrementAllocation(_ handle: UInt32, pages: Int) {
        guard profile.hasStackList, let i = byHandle[handle] else { return }
        if records[i].count == StackDepotModel.saturated {
            records[i].count = 1
            stackList.insert(i, at: 0)
        }
        records[i].count &+= UInt32(pages)
    }

    func decrement(_ handle: UInt32, pages: Int) {
        guard profile.hasStackList, let i = byHandle[handle] else { return }
        records[i].count &-= UInt32(pages)
    }

    /// init_page_owner sets the dummy and failure records to 1.
    func setCount(_ handle: UInt32, _ value: UInt32) {
        guard profile.hasStackList, let i = byHandle[handle] else { return }
        records[i].count = value
    }

    func address(of index: Int) -> UInt64 {
        return poolAddresses[records[index].pool] + UInt64(records[index].offset)
    }
}
