#if canImport(Glibc)
import Glibc
#endif

/// The groups of page_owner_sort's output: the first block of each (its text, name, module,
/// ids, time and allocator class), how many blocks it merged and their pages. Block texts live
/// in one byte arena; groups are found again through an open-addressing table on a hash of
/// their merge key.
struct SortGroups {
    struct Group {
        var txt: Range<Int>
        var stack: Range<Int>
        var comm: Range<Int>
        var module: Range<Int>
        var key: Range<Int>
        var hash: UInt64
        var pid: Int32
        var tgid: Int32
        var ts: UInt64
        var freeTs: UInt64
        var allocator: Int32
        var num: Int32
        var pages: Int32
    }

    private(set) var items: [Group] = []
    private var arena: [UInt8] = []
    private var table: [Int32] = Array(repeating: -1, count: 1 << 12)
    private var key: [UInt8] = []

    func bytes(_ r: Range<Int>) -> ArraySlice<UInt8> { arena[r] }

    /// Adds one block: merged into the group whose cull key it shares, or a new group.
    mutating func add(txt: UnsafeBufferPointer<UInt8>, comm: UnsafeBufferPointer<UInt8>, module: UnsafeBufferPointer<UInt8>,
                      pid: Int32, tgid: Int32, ts: UInt64, freeTs: UInt64, allocator: Int32, pages: Int32,
                      cull: Set<SortOptions.Key>) {
        // The stack trace is everything after the first line.
        let stackStart = SortBlockReader.index(of: 0x0a, in: txt, from: 0).map { $0 + 1 } ?? txt.count
        // The merge key: the whole text, or the cull fields in a fixed order.
        key.removeAll(keepingCapacity: true)
        if cull.isEmpty {
            key.append(contentsOf: txt)
        } else {
            func field(_ b: UnsafeBufferPointer<UInt8>) { Self.appendInteger(UInt64(b.count), to: &key); key.append(contentsOf: b) }
            if cull.contains(.stacktrace) { field(UnsafeBufferPointer(rebasing: txt[stackStart...])) }
            if cull.contains(.pid) { Self.appendInteger(UInt64(UInt32(bitPattern: pid)), to: &key) }
            if cull.contains(.tgid) { Self.appendInteger(UInt64(UInt32(bitPattern: tgid)), to: &key) }
            if cull.contains(.comm) { field(comm) }
            if cull.contains(.module) { field(module) }
            if cull.contains(.released) { key.append(freeTs != 0 ? 1 : 0) }
            if cull.contains(.allocator) { Self.appendInteger(UInt64(UInt32(bitPattern: allocator)), to: &key) }
        }
        let hash = key.withUnsafeBufferPointer(Self.hash)
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot] >= 0 {
            let index = Int(table[slot])
            if items[index].hash == hash, Self.equal(arena, items[index].key, key) {
                items[index].num &+= 1
                items[index].pages &+= pages
                return
            }
            slot = (slot + 1) & mask
        }
        let base = arena.count
        arena.append(contentsOf: txt)
        let txtRange = base..<arena.count
        let commStart = arena.count
        arena.append(contentsOf: comm)
        let moduleStart = arena.count
        arena.append(contentsOf: module)
        let keyRange: Range<Int>
        if cull.isEmpty {
            keyRange = txtRange
        } else {
            let keyStart = arena.count
            arena.append(contentsOf: key)
            keyRange = keyStart..<arena.count
        }
        table[slot] = Int32(items.count)
        items.append(Group(txt: txtRange, stack: (base + stackStart)..<txtRange.upperBound, comm: commStart..<moduleStart,
                           module: moduleStart..<(moduleStart + module.count), key: keyRange, hash: hash,
                           pid: pid, tgid: tgid, ts: ts, freeTs: freeTs, allocator: allocator, num: 1, pages: pages))
        if items.count * 2 > table.count { grow() }
    }

    private mutating func grow() {
        table = Array(repeating: -1, count: table.count * 2)
        let mask = table.count - 1
        for (index, group) in items.enumerated() {
            var slot = Int(truncatingIfNeeded: group.hash) & mask
            while table[slot] >= 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(index)
        }
    }

    static func equal(_ arena: [UInt8], _ range: Range<Int>, _ key: [UInt8]) -> Bool {
        guard range.count == key.count else { return false }
        guard !key.isEmpty else { return true }
        return arena.withUnsafeBufferPointer { a in
            key.withUnsafeBufferPointer { k in memcmp(a.baseAddress! + range.lowerBound, k.baseAddress!, k.count) == 0 }
        }
    }

    static func appendInteger(_ v: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    /// A fast 64-bit hash of a byte string, 8 bytes at a time.
    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(b.count)
        guard let base = b.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= b.count {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < b.count { tail |= UInt64(b[i]) << shift; shift += 8; i += 1 }
        h = (h ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        return h ^ (h >> 29)
    }

    // MARK: order

    /// The output order: by the sort keys, ties in the order of the cull keys (the tool's
    /// first, stable sort), which tells every two groups apart.
    ///
    /// 6.1's time comparators (`timesNeverTie`) answer 1 for equal times, and the tool's sort
    /// condition stops at the first non-zero answer, so no key after a time key is consulted.
    /// glibc's qsort is a merge sort that takes the left element when the comparator answers
    /// 0 or less: answered 1 for a tie, it takes the right one, so groups tied on an ascending
    /// time come out in the reverse of their cull order (on a descending time the answer is -1:
    /// in their cull order).
    func sorted(cull: [SortOptions.Key], by keys: [SortOptions.SortKey], timesNeverTie: Bool) -> [Int] {
        let cullOrder: [SortOptions.Key] = cull.isEmpty ? [.txt]
            : [SortOptions.Key.stacktrace, .pid, .tgid, .comm, .module, .released, .allocator].filter(cull.contains)
        return arena.withUnsafeBufferPointer { arena in
            let items = self.items
            func strcmp(_ a: Range<Int>, _ b: Range<Int>) -> Int32 {
                let n = min(a.count, b.count)
                if n > 0 {
                    let r = memcmp(arena.baseAddress! + a.lowerBound, arena.baseAddress! + b.lowerBound, n)
                    if r != 0 { return r < 0 ? -1 : 1 }
                }
                return a.count == b.count ? 0 : a.count < b.count ? -1 : 1
            }
            func compare(_ key: SortOptions.Key, _ x: Group, _ y: Group) -> Int32 {
                switch key {
                case .pid: return x.pid &- y.pid
                case .tgid: return x.tgid &- y.tgid
                case .comm: return strcmp(x.comm, y.comm)
                case .stacktrace: return strcmp(x.stack, y.stack)
                case .txt: return strcmp(x.txt, y.txt)
                case .allocTs: return x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0
                case .freeTs: return x.freeTs < y.freeTs ? -1 : x.freeTs > y.freeTs ? 1 : 0
                case .allocator: return x.allocator &- y.allocator
                case .module: return strcmp(x.module, y.module)
                case .released: return (x.freeTs != 0) == (y.freeTs != 0) ? 0 : x.freeTs != 0 ? 1 : -1
                case .times: return x.num &- y.num
                case .pages: return x.pages &- y.pages
                }
            }
            /// Whether group i comes before group j in the cull order.
            func cullFirst(_ i: Int, _ j: Int) -> Bool {
                for k in cullOrder {
                    let c = compare(k, items[i], items[j])
                    if c != 0 { return c < 0 }
                }
                return i < j
            }
            var order = Array(items.indices)
            order.sort { i, j in
                let x = items[i], y = items[j]
                for k in keys {
                    let c = compare(k.key, x, y)
                    if c != 0 { return (k.descending ? c &* -1 : c) < 0 }
                    if timesNeverTie, k.key == .allocTs || k.key == .freeTs {
                        return k.descending ? cullFirst(i, j) : cullFirst(j, i)
                    }
                }
                return cullFirst(i, j)
            }
            return order
        }
    }
}
