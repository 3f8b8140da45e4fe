import ELFCore

/// One allocation stack with the number of base pages it holds.
public struct StackCount: Sendable {
    public let handle: UInt32
    public let pages: Int64
    /// Return addresses; nil when the record could not be read.
    public let frames: [UInt64]?
}

/// The allocation stacks of `page_owner_stacks/`: the kernel's own `stack_list` with its
/// refcounts (6.9+), or a count rebuilt from the pages for older kernels.
public enum StackCounts {
    static let maxListLength = 10_000_000

    /// The kernel's list, newest first, then the dummy and failure stacks, or nil when the
    /// kernel keeps none (before 6.9).
    public static func fromStackList(_ c: PageOwnerContext) throws -> [StackCount]? {
        let dump = c.dump
        guard let head = dump.address(of: "stack_list"),
              let node = try? dump.types.structType("stack", near: "stack_list"),
              let recordField = try node.memberIfPresent("stack_record"),
              let nextField = try node.memberIfPresent("next") else { return nil }
        let memory = dump.memory
        var out: [StackCount] = []
        var seen: Set<UInt64> = []
        var at = try memory.u64(head)
        while at != 0 {
            guard seen.insert(at).inserted else { throw DepotError.badList("stack_list loops back on itself at 0x\(String(at, radix: 16))") }
            guard out.count < maxListLength else { throw DepotError.badList("stack_list is longer than \(maxListLength)") }
            let record = try memory.u64(at &+ UInt64(recordField.offset))
            if record != 0 {
                let (handle, count) = try c.depot.handleAndCount(ofRecordAt: record)
                let frames = try? c.depot.entries(ofRecordAt: record)
                out.append(StackCount(handle: handle, pages: Int64(count ?? 1) - 1, frames: frames))
            }
            at = try memory.u64(at &+ UInt64(nextField.offset))
        }
        return out
    }

    /// The threshold the user last wrote to `count_threshold`.
    public static func threshold(_ c: PageOwnerContext) -> UInt64 {
        for name in ["page_owner_pages_threshold", "page_owner_stack_threshold"] {
            if let at = c.dump.address(of: name), let v = try? c.dump.memory.u64(at) { return v }
        }
        return 0
    }

    /// Counts from the pages: every allocated base page adds one to its handle, boot pages
    /// (early_handle) excluded as the kernel does. Sorted by pages, most first.
    public static func fromPages(_ census: PageCensus, context c: PageOwnerContext) -> [StackCount] {
        census.pagesByHandle
            .filter { $0.key != c.earlyHandle && $0.key != 0 }
            .map { StackCount(handle: $0.key, pages: $0.value, frames: try? c.depot.frames(of: $0.key)) }
            .sorted { ($0.pages, $1.handle) > ($1.pages, $0.handle) }
    }
}
