#if canImport(Glibc)
import Glibc
#endif

/// tools/mm/page_owner_sort built in: reads page_owner text (fed in pieces, from a dump's own
/// rebuilt text or from a file), merges blocks that are equal under the cull keys, sorts the
/// groups and writes what the tool writes to its output file, byte for byte.
///
/// The tool sorts every block by the cull keys (glibc's qsort, a stable merge sort here),
/// merges neighbours that compare equal into the first of them, then sorts the groups again by
/// the sort keys. Merging by hash and sorting only the groups gives the same result: the first
/// block of a group in input order is its first in the tool's stable order, and groups that
/// tie on the sort keys keep the cull-key order.
public final class PageOwnerSort: TextSink {
    let options: SortOptions
    private var reader = SortBlockReader()
    private var groups = SortGroups()
    private var scratch: [UInt8] = []
    private let cullBy: Set<SortOptions.Key>
    /// The text and allocator class of the block added last (6.1's repeats join it).
    private var lastAdded: [UInt8] = []
    private var addedAny = false
    private var lastAllocator: Int32 = 0
    /// Blocks read and blocks kept by the select lists (for the caller's own summary).
    public private(set) var blocksRead = 0
    public private(set) var blocksKept = 0

    public init(options: SortOptions) {
        self.options = options
        cullBy = Set(options.cull)
        scratch.reserveCapacity(4096)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        reader.feed(bytes) { searched, length, pfn in add(searched, length: length, pfnLine: pfn) }
    }

    /// Whether the input was cut short by a block too large for the tool's buffer.
    public var stoppedEarly: Bool { reader.stopped }

    // MARK: one block

    private func add(_ s: UnsafeBufferPointer<UInt8>, length: Int, pfnLine: UnsafeBufferPointer<UInt8>) {
        blocksRead += 1
        let pid = SortPatterns.int32(s, SortPatterns.pid(s)) ?? -1
        let tgid = SortPatterns.int32(s, SortPatterns.tgid(s)) ?? -1
        let commRange = SortPatterns.comm(s) ?? 0..<0
        // The tool copies the name into a TASK_COMM_LEN buffer; the newest one refuses longer
        // names, 6.12's overruns it. Names longer than a task's cannot come from a kernel.
        let moduleRange = options.tool.hasModules ? SortPatterns.module(s) : nil
        let moduleName: UnsafeBufferPointer<UInt8> = moduleRange.map { UnsafeBufferPointer(rebasing: s[$0.lowerBound..<min($0.upperBound, $0.lowerBound + 63)]) } ?? Self.vmlinux
        let tsDigits = options.tool.timestampNeedsComma ? SortPatterns.tsBeforeComma(s) : SortPatterns.ts(s)
        let ts = SortPatterns.unsignedValue(s, tsDigits) ?? .max
        let freeTs = options.tool.hasFreeTimes ? SortPatterns.unsignedValue(s, SortPatterns.freeTs(s)) ?? .max : 0
        let txt = UnsafeBufferPointer(rebasing: s[..<length])
        // 6.1's tool adds a block with the same text as the block it added last to that one,
        // before its filters (which the same text passes again) and without looking at the
        // block's own PFN line: the allocator class is the earlier block's.
        let repeated = options.tool.repeatsJoinTheLastBlock && addedAny && Self.same(lastAdded, txt)
        if !repeated {
            // 6.1's -f: a block whose page was freed after this allocation was recorded.
            if options.dropsFreedBlocks, freeTs != 0, ts < freeTs { return }
            if let pids = options.pids, !pids.contains(pid) { return }
            if let tgids = options.tgids, !tgids.contains(tgid) { return }
            if let names = options.names, !names.contains(where: { Self.equal($0, UnsafeBufferPointer(rebasing: s[commRange])) }) { return }
            if let modules = options.modules, !modules.contains(where: { Self.equal($0, moduleName) }) { return }
        }
        blocksKept += 1
        let allocator = repeated ? lastAllocator : Self.allocator(s, pfnLine: pfnLine)
        if options.tool.repeatsJoinTheLastBlock, !repeated {
            lastAdded.removeAll(keepingCapacity: true)
            lastAdded.append(contentsOf: txt)
            addedAny = true
            lastAllocator = allocator
        }

        // The block text, without the ts digits unless time is the first sort key.
        scratch.removeAll(keepingCapacity: true)
        if !options.keepsTimestamps, let digits = SortPatterns.ts(txt) {
            scratch.append(contentsOf: txt[..<digits.lowerBound])
            scratch.append(contentsOf: txt[digits.upperBound...])
        } else {
            scratch.append(contentsOf: txt)
        }
        let pages = Self.pages(SortPatterns.int32(s, SortPatterns.order(s)))
        let comm = UnsafeBufferPointer(rebasing: s[commRange])
        scratch.withUnsafeBufferPointer { txt in
            groups.add(txt: txt, comm: comm, module: moduleName, pid: pid, tgid: tgid, ts: ts, freeTs: freeTs, allocator: allocator,
                       pages: pages, cull: cullBy)
        }
    }

    static let vmlinuxBytes: [UInt8] = Array("vmlinux".utf8)
    static let vmlinux: UnsafeBufferPointer<UInt8> = {
        let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: vmlinuxBytes.count)
        _ = p.initialize(from: vmlinuxBytes)
        return UnsafeBufferPointer(p)
    }()

    static func same(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && a.withUnsafeBufferPointer { a in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
    }

    static func equal(_ a: String, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var a = a
        return a.withUTF8 { $0.elementsEqual(b) }
    }

    /// 1 << order as the tool computes it: 0 for a missing or larger-than-64 order; the
    /// shift count taken modulo 32, as x86 does.
    static func pages(_ order: Int32?) -> Int32 {
        guard let order, order <= 64 else { return 0 }
        return Int32(bitPattern: UInt32(1) << (UInt32(bitPattern: order) & 31))
    }

    /// The allocator classes: CMA or SLAB from the PFN line (pageblock type, page flags),
    /// VMALLOC when the line before `__vmalloc_node_range` names an alloc_pages function,
    /// OTHERS when none of them.
    static func allocator(_ s: UnsafeBufferPointer<UInt8>, pfnLine: UnsafeBufferPointer<UInt8>) -> Int32 {
        var classes: Int32 = 0
        if SortPatterns.find(pfnLine, "CMA") != nil { classes |= SortAllocator.cma }
        if SortPatterns.find(pfnLine, "slab") != nil { classes |= SortAllocator.slab }
        if let vmalloc = SortPatterns.find(s, "__vmalloc_node_range") {
            var t = vmalloc
            while t >= 0, s[t] != 0x0a { t -= 1 }
            t -= 1
            while t >= 0, s[t] != 0x0a { t -= 1 }
            let previousLine = max(0, t + 1)
            if let a = SortPatterns.find(s, "alloc_pages", from: previousLine), a < vmalloc { classes |= SortAllocator.vmalloc }
        }
        return classes == 0 ? SortAllocator.others : classes
    }

    // MARK: output

    /// Sorts what was read and writes the tool's output file.
    public func finish(to sink: TextSink) {
        let order = groups.sorted(cull: options.cull, by: options.sort, timesNeverTie: options.tool.timesNeverTie)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        let printsPid = cullBy.contains(.pid) || options.pids != nil
        let printsTgid = cullBy.contains(.tgid) || options.tgids != nil
        let printsComm = cullBy.contains(.comm) || options.names != nil
        let printsModule = options.tool.hasModules && (cullBy.contains(.module) || options.modules != nil)
        for index in order {
            let g = groups.items[index]
            out.appendDecimal(Int64(g.num))
            out.append(" times, ")
            out.appendDecimal(Int64(g.pages))
            out.append(" pages")
            if cullBy.isEmpty {
                out.append(", ")
                SortAllocator.append(g.allocator, to: &out)
                out.append(":\n")
                out.append(contentsOf: groups.bytes(g.txt))
                out.append("\n")
            } else {
                if printsPid { out.append(", PID "); out.appendDecimal(Int64(g.pid)) }
                if printsTgid { out.append(", TGID "); out.appendDecimal(Int64(g.tgid)) }
                if printsComm { out.append(", task_comm_name: "); out.append(contentsOf: groups.bytes(g.comm)) }
                if printsModule { out.append(", module: "); out.append(contentsOf: groups.bytes(g.module)) }
                if cullBy.contains(.allocator) { out.append(", "); SortAllocator.append(g.allocator, to: &out) }
                if cullBy.contains(.released) { out.append(g.freeTs != 0 ? " (UNRELEASED)" : " (RELEASED)") }
                if cullBy.contains(.stacktrace) { out.append(":\n"); out.append(contentsOf: groups.bytes(g.stack)) }
                out.append("\n")
            }
            if out.count >= 1 << 20 {
                out.withUnsafeBytes { sink.write($0) }
                out.removeAll(keepingCapacity: true)
            }
        }
        out.withUnsafeBytes { sink.write($0) }
    }

    /// How many groups the output has (after `finish`, or at any time).
    public var groupCount: Int { groups.items.count }
}

enum SortAllocator {
    static let cma: Int32 = 1 << 1
    static let slab: Int32 = 1 << 2
    static let vmalloc: Int32 = 1 << 3
    static let others: Int32 = 1 << 4

    static func append(_ classes: Int32, to out: inout [UInt8]) {
        out.append("allocated by ")
        if classes & cma != 0 { out.append("CMA ") }
        if classes & slab != 0 { out.append("SLAB ") }
        if classes & vmalloc != 0 { out.append("VMALLOC ") }
        if classes & others != 0 { out.append("OTHERS ") }
    }
}
