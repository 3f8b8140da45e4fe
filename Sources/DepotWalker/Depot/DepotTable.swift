import ELFCore

/// Every stack in the depot, found through its hash table (`stack_table`): buckets of
/// `list_head`s from 6.8, singly linked `next` chains before. Freed records are unlinked, so
/// what the table holds is what the depot holds.
public enum DepotTable {
    public struct Entry: Sendable {
        public let record: UInt64
        public let handle: UInt32
        /// The record's refcount (6.8+); page_owner's allocation stacks carry 1 + pages.
        public let refcount: Int32?
    }

    static let maxRecords = 10_000_000

    public static func enumerate(dump: KernelDump, depot: StackDepot) throws -> [Entry] {
        let memory = dump.memory
        let types = dump.types
        let tableSymbol = try dump.requireAddress(of: "stack_table")
        let tableType = try types.variableType("stack_table").resolved
        var buckets: UInt64
        var table: UInt64
        switch tableType {
        case .array(_, let count?):
            table = tableSymbol
            buckets = UInt64(count)
        default:
            table = try memory.u64(tableSymbol)
            if let maskAt = dump.address(of: "stack_hash_mask") {
                buckets = UInt64(try memory.u32(maskAt)) &+ 1
            } else if let orderAt = dump.address(of: "stack_hash_order") {
                buckets = 1 << min(UInt64(try memory.u32(orderAt)), 24)
            } else {
                buckets = 1 << 20
            }
        }
        guard buckets <= 1 << 26 else { throw DepotError.badList("stack_table claims \(buckets) buckets") }
        let listLinked = depot.record.hashList != nil
        let bucketSize: UInt64 = listLinked ? 16 : 8
        // Read the bucket array in big pieces: most buckets are empty.
        var entries: [Entry] = []
        let chunk: UInt64 = 4096
        var bucket: UInt64 = 0
        while bucket < buckets {
            let n = min(chunk, buckets - bucket)
            let raw = try memory.bytes(table &+ bucket &* bucketSize, count: Int(n &* bucketSize))
            for i in 0..<Int(n) {
                let head = table &+ (bucket &+ UInt64(i)) &* bucketSize
                let first = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * Int(bucketSize), as: UInt64.self) }
                if listLinked {
                    guard first != head, first != 0 else { continue }
                    try walkList(from: first, head: head, depot: depot, memory: memory, into: &entries)
                } else if first != 0 {
                    try walkChain(from: first, depot: depot, memory: memory, into: &entries)
                }
            }
            bucket &+= n
        }
        return entries
    }

    private static func walkList(from first: UInt64, head: UInt64, depot: StackDepot, memory: KernelMemory, into entries: inout [Entry]) throws {
        let link = UInt64(depot.record.hashList ?? 0)
        var node = first
        var seen: Set<UInt64> = []
        while node != head {
            guard seen.insert(node).inserted else { throw DepotError.badList("a stack_table bucket loops at 0x\(String(node, radix: 16))") }
            guard entries.count < maxRecords else { throw DepotError.badList("stack_table holds more than \(maxRecords) records") }
            let record = node &- link
            let (handle, count) = try depot.handleAndCount(ofRecordAt: record)
            entries.append(Entry(record: record, handle: handle, refcount: count))
            node = try memory.u64(node)
        }
    }

    private static func walkChain(from first: UInt64, depot: StackDepot, memory: KernelMemory, into entries: inout [Entry]) throws {
        let next = UInt64(depot.record.next ?? 0)
        var record = first
        var seen: Set<UInt64> = []
        while record != 0 {
            guard seen.insert(record).inserted else { throw DepotError.badList("a stack_table chain loops at 0x\(String(record, radix: 16))") }
            guard entries.count < maxRecords else { throw DepotError.badList("stack_table holds more than \(maxRecords) records") }
            let (handle, count) = try depot.handleAndCount(ofRecordAt: record)
            entries.append(Entry(record: record, handle: handle, refcount: count))
            record = try memory.u64(record &+ next)
        }
    }
}
