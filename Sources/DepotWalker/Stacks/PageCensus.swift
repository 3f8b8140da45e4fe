import ELFCore

/// One pass over every page: what page_owner knows, tallied by stack and by task.
public struct PageCensus: Sendable {
    public struct Task: Hashable, Sendable {
        public let pid: Int64
        public let comm: String
    }

    /// Pages with a page_ext slot that page_owner stamped at least once (free ones included).
    public var pagesStamped: Int64 = 0
    /// Of those, allocated now.
    public var pagesAllocated: Int64 = 0
    public var pagesByHandle: [UInt32: Int64] = [:]
    public var pagesByTask: [Task: Int64] = [:]
    public var unreadable = 0

    /// `selector` picks the allocated pages that count (all by default); the stamped total
    /// counts every page.
    public init(context: PageOwnerContext, selector: PageSelector = .all) {
        var total = PageCensus()
        ParallelWalk.run(context: context, work: { range -> PageCensus in
            var part = PageCensus()
            var walker = PageWalker(context: context)
            defer { walker.release() }
            // Tally by raw (pid, comm bytes) first: no String per page. Neighbouring pages
            // mostly share an owner, so runs are counted before they reach a dictionary.
            var byTask: [TaskKey: Int64] = [:]
            var handleRun: (handle: UInt32, pages: Int64) = (0, 0)
            var taskRun: (task: TaskKey?, pages: Int64) = (nil, 0)
            var selection = PageSelector.WalkState()
            walker.walk(from: range.start, to: range.end, skipBuddy: false) { pfn, page, ext in
                guard context.isStamped(ext) else { return }
                part.pagesStamped += 1
                guard context.isAllocated(ext) else { return }
                // ownerOffset + owner.size <= extSize (PageOwnerContext.init): r is inside the slot.
                let r = ext + Int(context.ownerOffset)
                guard selector.keeps(pfn: pfn, page: page, record: r, state: &selection) else { return }
                part.pagesAllocated += 1
                let o = context.owner
                let handle = UInt32(truncatingIfNeeded: o.handle.unsigned(r))
                if handle != handleRun.handle {
                    if handleRun.pages > 0 { part.pagesByHandle[handleRun.handle, default: 0] += handleRun.pages }
                    handleRun = (handle, 0)
                }
                handleRun.pages += 1
                let task = TaskKey(record: r, layout: o)
                if task != taskRun.task {
                    if let previous = taskRun.task { byTask[previous, default: 0] += taskRun.pages }
                    taskRun = (task, 0)
                }
                taskRun.pages += 1
            }
            if handleRun.pages > 0 { part.pagesByHandle[handleRun.handle, default: 0] += handleRun.pages }
            if let last = taskRun.task { byTask[last, default: 0] += taskRun.pages }
            for (key, pages) in byTask { part.pagesByTask[key.task, default: 0] += pages }
            part.unreadable = walker.unreadable
            return part
        }, consume: { part in total.merge(part) })
        self = total
    }

    private init() {}

    mutating func merge(_ other: PageCensus) {
        pagesStamped += other.pagesStamped
        pagesAllocated += other.pagesAllocated
        unreadable += other.unreadable
        for (k, v) in other.pagesByHandle { pagesByHandle[k, default: 0] += v }
        for (k, v) in other.pagesByTask { pagesByTask[k, default: 0] += v }
    }
}

/// pid and the 16 comm bytes, hashed without building a String.
private struct TaskKey: Hashable {
    let pid: Int64
    let comm0: UInt64
    let comm1: UInt64

    init(record r: UnsafeRawPointer, layout o: PageOwnerLayout) {
        pid = o.pid?.signed(r) ?? 0
        if let comm = o.comm, comm.size >= 16 {
            comm0 = r.loadUnaligned(fromByteOffset: comm.offset, as: UInt64.self)
            comm1 = r.loadUnaligned(fromByteOffset: comm.offset + 8, as: UInt64.self)
        } else {
            comm0 = 0
            comm1 = 0
        }
    }

    var task: PageCensus.Task {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (comm0, comm1)) { raw in
            for b in raw { if b == 0 { break }; bytes.append(b) }
        }
        return PageCensus.Task(pid: pid, comm: String(decoding: bytes, as: UTF8.self))
    }
}
