import Foundation

/// A bounded cache of decompressed pages, shared by the walkers' threads. Lookups and inserts
/// take a lock and copy out; decompression happens outside it, so two threads decompress two
/// pages at once. Eviction is CLOCK (second chance), an LRU approximation in O(1).
final class PageCache: @unchecked Sendable {
    let pageSize: Int
    let capacity: Int
    private let lock = NSLock()
    private var slotOf: [UInt64: Int] = [:]
    private var keys: [UInt64]
    private var referenced: [Bool]
    private let storage: UnsafeMutableRawPointer
    private var used = 0
    private var hand = 0

    init(pageSize: Int, capacity: Int) {
        self.pageSize = pageSize
        self.capacity = max(capacity, 1)
        keys = [UInt64](repeating: 0, count: self.capacity)
        referenced = [Bool](repeating: false, count: self.capacity)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity * pageSize, alignment: 64)
        slotOf.reserveCapacity(self.capacity)
    }

    deinit { storage.deallocate() }

    /// Copies `count` bytes at `within` of page `pfn` into `out`; false when not cached.
    func copy(pfn: UInt64, within: Int, count: Int, to out: UnsafeMutableRawPointer) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let slot = slotOf[pfn] else { return false }
        referenced[slot] = true
        out.copyMemory(from: storage + slot * pageSize + within, byteCount: count)
        return true
    }

    func insert(pfn: UInt64, page: UnsafeRawPointer) {
        lock.lock()
        defer { lock.unlock() }
        if slotOf[pfn] != nil { return }
        let slot: Int
        if used < capacity {
            slot = used
            used += 1
        } else {
            while referenced[hand] { referenced[hand] = false; hand = (hand + 1) % capacity }
            slot = hand
            hand = (hand + 1) % capacity
            slotOf[keys[slot]] = nil
        }
        keys[slot] = pfn
        referenced[slot] = true
        slotOf[pfn] = slot
        (storage + slot * pageSize).copyMemory(from: page, byteCount: pageSize)
    }
}
