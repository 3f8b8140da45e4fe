import ELFCore

/// The stack depot (lib/stackdepot.c): handle → pool → `stack_record` → return addresses.
public final class StackDepot: @unchecked Sendable {
    public let handles: HandleLayout
    let memory: KernelMemory
    let dumpPath: String
    let dump: KernelDump
    let record: RecordLayout
    let poolsBase: UInt64          // address of the first pool pointer
    public let poolCount: UInt64
    static let stackAlignShift: UInt32 = 4     // DEPOT_STACK_ALIGN
    static let maxFrames: UInt32 = 256

    struct RecordLayout {
        let size: Field
        let handle: Field
        let entries: Int
        let count: Field?          // refcount_t, 6.8+
        let hashList: Int?         // list_head, 6.8+
        let next: Int?             // ≤6.7 chaining pointer
        let hash: Field
    }

    public init(dump: KernelDump) throws {
        let types = dump.types
        memory = dump.memory
        dumpPath = dump.vmcorePath
        self.dump = dump
        handles = try HandleLayout(types: types)
        let r = try types.structType("stack_record", near: "stack_table")
        record = RecordLayout(
            size: try r.field("size"), handle: try r.field("handle"),
            entries: try r.member("entries").offset, count: try r.optionalField("count"),
            hashList: try r.memberIfPresent("hash_list")?.offset, next: try r.memberIfPresent("next")?.offset,
            hash: try r.field("hash"))

        // The pool array: `stack_pools` (6.3+) or `stack_slabs`, an array until ~6.15, a
        // kvcalloc'd pointer after. The DWARF type says which.
        // The symbol table answers first: asking the DWARF for the name a kernel lacks would
        // scan all of it.
        let name = dump.symbols.address(of: "stack_pools") != nil ? "stack_pools"
            : dump.symbols.address(of: "stack_slabs") != nil ? "stack_slabs"
            : types.hasVariable("stack_pools") ? "stack_pools" : "stack_slabs"
        let symbol = try dump.requireAddress(of: name)
        let arrayLength: Int?
        switch try types.variableType(name).resolved {
        case .array(_, let count):
            poolsBase = symbol
            arrayLength = count
        case .pointer:
            poolsBase = try memory.u64(symbol)
            arrayLength = nil
        default:
            throw InputError(file: dump.kernelFile, reason: "\(name) is neither an array nor a pointer")
        }
        // How many pools are in use: `pools_num` (6.8+) or the current index + 1.
        var used: UInt64
        if let at = dump.address(of: "pools_num") {
            used = UInt64(try memory.u32(at))
        } else if let at = dump.address(of: "pool_index") ?? dump.address(of: "depot_index") {
            used = UInt64(try memory.u32(at)) + 1
        } else {
            used = UInt64(arrayLength ?? 8192)
        }
        if let limit = arrayLength { used = min(used, UInt64(limit)) }
        if let at = dump.address(of: "stack_max_pools") { used = min(used, UInt64(try memory.u32(at))) }
        poolCount = min(used, 1 << 20)
    }

    /// The return addresses a handle stands for. Throws when the handle points nowhere valid
    /// (a pool that does not exist, a record that does not carry this handle).
    public func frames(of handle: UInt32) throws -> [UInt64] {
        let wanted = handle & ~handles.extraMask
        let offset = UInt64(handles.offset.value(handle)) << UInt64(Self.stackAlignShift)
        var lastError: Error = DepotError.badHandle(handle, "pool index is 0 in a plus-one layout")
        for index in handles.candidateIndexes(handle) {
            guard UInt64(index) < poolCount else {
                lastError = DepotError.badHandle(handle, "pool \(index) does not exist (the depot has \(poolCount))")
                continue
            }
            do {
                let pool = try memory.u64(poolsBase &+ UInt64(index) &* 8)
                guard pool != 0 else { lastError = DepotError.badHandle(handle, "pool \(index) is NULL"); continue }
                let at = pool &+ offset
                let stored = UInt32(truncatingIfNeeded: try record.handle.read(memory, at: at)) & ~handles.extraMask
                guard stored == wanted else {
                    lastError = DepotError.badHandle(handle, "the record at pool \(index) offset 0x\(String(offset, radix: 16)) carries handle 0x\(String(stored, radix: 16))")
                    continue
                }
                return try entries(ofRecordAt: at)
            } catch let fault as MemoryFault {
                lastError = DepotError.badHandle(handle, "\(fault)")
            }
        }
        throw lastError
    }

    func entries(ofRecordAt at: UInt64) throws -> [UInt64] {
        let count = UInt32(truncatingIfNeeded: try record.size.read(memory, at: at))
        guard count <= Self.maxFrames else { throw DepotError.badRecord(at, "claims \(count) frames") }
        let raw = try memory.bytes(at &+ UInt64(record.entries), count: Int(count) * 8)
        // arm64's unwinder strips pointer-authentication bits before the depot stores a
        // return address; codeAddress strips any a corrupt or future kernel left in.
        return raw.withUnsafeBytes { b in
            (0..<Int(count)).map { dump.codeAddress(UInt64(littleEndian: b.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        }
    }

    /// The stored handle and reference count of the record at `at` (6.8+ records).
    func handleAndCount(ofRecordAt at: UInt64) throws -> (handle: UInt32, count: Int32?) {
        let h = UInt32(truncatingIfNeeded: try record.handle.read(memory, at: at))
        let c = try record.count.map { Int32(bitPattern: UInt32(truncatingIfNeeded: try $0.read(memory, at: at))) }
        return (h, c)
    }
}

public enum DepotError: Error, CustomStringConvertible {
    case badHandle(UInt32, String)
    case badRecord(UInt64, String)
    case badList(String)

    public var description: String {
        switch self {
        case .badHandle(let h, let why): return "stack depot handle 0x\(String(h, radix: 16)): \(why)"
        case .badRecord(let at, let why): return "stack record at 0x\(String(at, radix: 16)) \(why)"
        case .badList(let why): return why
        }
    }
}
