import ELFCore
import Foundation

/// Rebuilds `/sys/kernel/debug/page_owner`: one record per allocated block head, in pfn order,
/// in the dumped kernel's own format.
public struct PageOwnerText {
    /// The record's first line: it gained fields at 5.11, 5.13, 5.18 and lost free_ts at 6.7.
    /// The layout of struct page_owner tells which generation this is.
    enum FirstLine {
        case orderMaskOnly                 // ≤5.10
        case pidTs                         // 5.11–5.12
        case pidTsFreeTs                   // 5.13–5.17
        case pidTgidCommTsFreeTs           // 5.18–6.6
        case pidTgidCommTs                 // 6.7+
    }

    let context: PageOwnerContext
    let firstLine: FirstLine
    let hexPFN: Bool
    /// memcg lines came in 5.19; comm/tgid in struct page_owner (5.18) is the closest sign.
    let printsMemcg: Bool
    let stacks: StackText
    /// The services the text needs, built once here rather than looked up per record.
    let names: FlagNames
    let pageFlags: PageFlagsFormat
    let memcg: MemcgNames?
    /// Which records to print and how to print their stacks (all, as the kernel by default).
    public var selection = RecordSelection()

    public init(context: PageOwnerContext) throws {
        self.context = context
        names = try context.names
        pageFlags = try context.pageFlags
        let o = context.owner
        if o.freePid != nil { firstLine = .pidTgidCommTs }
        else if o.comm != nil { firstLine = .pidTgidCommTsFreeTs }
        else if o.freeTsNsec != nil { firstLine = .pidTsFreeTs }
        else if o.tsNsec != nil { firstLine = .pidTs }
        else { firstLine = .orderMaskOnly }
        // PFN in hex from 6.5: struct page_owner shows 6.7 (free_pid); 6.5 and 6.6 are told by
        // struct ptdesc, which came in 6.5.
        // Kernels before 6.5 are not asked for ptdesc: a type the DWARF lacks costs a scan of all
        // of it.
        let before65 = context.dump.releaseVersion.map { ($0.major, $0.minor) < (6, 5) } ?? false
        hexPFN = o.freePid != nil || (o.comm != nil && !before65 && (try? context.dump.types.structType("ptdesc")) != nil)
        printsMemcg = o.comm != nil
        memcg = printsMemcg ? context.memcg : nil
        stacks = StackText(context: context)
    }

    /// What the report could not read: pages or stacks (records left out or cut short), and
    /// records printed without their memcg lines because the memcg was not in the dump.
    public struct Warnings {
        public var unreadable = 0
        public var memcgUnreadable = 0
    }

    /// Writes the whole report; returns what could not be read.
    public func write(to sink: TextSink) -> Warnings {
        var warnings = Warnings()
        let context = self.context
        let selectsAll = selection.selectsAll
        let buffers = BufferPool()
        ParallelWalk.run(context: context, work: { range -> (text: [UInt8], unreadable: Int, memcgUnreadable: Int) in
            var walker = PageWalker(context: context)
            defer { walker.release() }
            var out = buffers.take()
            var cache = RecordTextCache()
            walker.walk(from: range.start, to: range.end) { pfn, page, ext in
                guard context.isStamped(ext), context.isAllocated(ext) else { return }
                // ownerOffset + owner.size <= extSize (PageOwnerContext.init): r is inside the slot.
                let r = ext + Int(context.ownerOffset)
                let order = context.owner.order.unsigned(r)
                guard order < 64, pfn & ((1 << order) - 1) == 0 else { return }
                let handle = UInt32(truncatingIfNeeded: context.owner.handle.unsigned(r))
                guard handle != 0 else { return }
                if !selectsAll, !selection.keeps(pfn: pfn, page: page, record: r, handle: handle, text: self, cache: &cache) { return }
                appendRecord(pfn: pfn, order: order, handle: handle, page: page, record: r, cache: &cache, into: &out)
            }
            return (out, walker.unreadable, cache.memcgUnreadable)
        }, consume: { result in
            result.text.withUnsafeBytes { sink.write($0) }
            warnings.unreadable += result.unreadable
            warnings.memcgUnreadable += result.memcgUnreadable
            buffers.give(result.text)
        })
        warnings.unreadable += stacks.failures.count
        return warnings
    }

    /// What one walker thread has already rendered: the same gfp masks, page flags, stacks,
    /// memcgs and pageblocks come back record after record.
    struct RecordTextCache {
        var gfp: [UInt64: [UInt8]] = [:]
        var flags: [UInt64: [UInt8]] = [:]
        var stacks: [UInt32: [UInt8]] = [:]
        /// memcg_data -> its lines, nil when the memcg could not be read.
        var memcg: [UInt64: [UInt8]?] = [:]
        var memcgUnreadable = 0
        var block: UInt64 = .max
        var blockType = 0
    }

    func appendRecord(pfn: UInt64, order: UInt64, handle: UInt32, page: UnsafeRawPointer,
                      record r: UnsafeRawPointer, cache: inout RecordTextCache, into out: inout [UInt8]) {
        let c = context
        let o = c.owner
        let gfp = o.gfpMask.unsigned(r)
        out.append("Page allocated via order ")
        out.appendDecimal(order)
        out.append(", mask ")
        if let text = cache.gfp[gfp] {
            out.append(contentsOf: text)
        } else {
            var text: [UInt8] = []
            text.appendHex(gfp)
            text.append(UInt8(ascii: "("))
            FlagNames.format(gfp, with: names.gfp, into: &text)
            text.append(UInt8(ascii: ")"))
            cache.gfp[gfp] = text
            out.append(contentsOf: text)
        }
        if firstLine != .orderMaskOnly {
            out.append(", pid ")
            out.appendDecimal(o.pid.map { $0.signed(r) } ?? 0)
        }
        if firstLine == .pidTgidCommTs || firstLine == .pidTgidCommTsFreeTs {
            out.append(", tgid ")
            out.appendDecimal(o.tgid.map { $0.signed(r) } ?? 0)
            out.append(" (")
            if let comm = o.comm { out.append(contentsOf: OwnerRecord.comm(r + comm.offset, max: comm.size)) }
            out.append(UInt8(ascii: ")"))
        }
        if firstLine != .orderMaskOnly {
            out.append(", ts ")
            out.appendDecimal(o.tsNsec.map { $0.unsigned(r) } ?? 0)
            out.append(" ns")
        }
        if firstLine == .pidTsFreeTs || firstLine == .pidTgidCommTsFreeTs {
            out.append(", free_ts ")
            out.appendDecimal(o.freeTsNsec.map { $0.unsigned(r) } ?? 0)
            out.append(" ns")
        }
        if let swapped = c.swappedFlag, (r - Int(c.ownerOffset)).loadUnaligned(as: UInt64.self) & swapped != 0 {
            out.append(" (swapped)")
        }
        out.append(UInt8(ascii: "\n"))

        // Grouping by mobility: the allocation's migratetype and its pageblock's.
        let types = names.migrateTypes
        let pageType = Int((gfp & 0x18) >> 3)
        let block = pfn >> c.pageblockOrder
        if block != cache.block {
            cache.block = block
            cache.blockType = c.pageblockMigratetype(pfn) ?? 0
        }
        let blockType = cache.blockType
        out.append("PFN ")
        if hexPFN { out.appendHex(pfn) } else { out.appendDecimal(pfn) }
        out.append(" type ")
        out.append(contentsOf: (pageType < types.count ? types[pageType] : "").utf8)
        out.append(" Block ")
        out.appendDecimal(block)
        out.append(" type ")
        out.append(contentsOf: (blockType < types.count ? types[blockType] : "").utf8)
        out.append(" Flags ")
        let flags = c.page.flags.unsigned(page)
        if let text = cache.flags[flags] {
            out.append(contentsOf: text)
        } else {
            var text: [UInt8] = []
            pageFlags.append(flags, names: names.pageFlags, into: &text)
            cache.flags[flags] = text
            out.append(contentsOf: text)
        }
        out.append(UInt8(ascii: "\n"))

        // 7.x's print modes: the frames, `handle: %u`, or both.
        if selection.mode != .handle { out.append(contentsOf: stackLines(handle, cache: &cache)) }
        if selection.mode != .stack {
            out.append("handle: ")
            out.appendDecimal(UInt64(handle))
            out.append(UInt8(ascii: "\n"))
        }

        let reason = o.lastMigrateReason.signed(r)
        if reason != -1 {
            out.append("Page has been migrated, last migrate reason: ")
            let reasons = names.migrateReasons
            if reason >= 0, reason < Int64(reasons.count) { out.append(contentsOf: reasons[Int(reason)].utf8) }
            out.append(UInt8(ascii: "\n"))
        }
        if let text = memcgLines(page: page, cache: &cache) { out.append(contentsOf: text) }
        out.append(UInt8(ascii: "\n"))
    }

    /// The frame lines of `handle`, rendered once per walker thread.
    func stackLines(_ handle: UInt32, cache: inout RecordTextCache) -> [UInt8] {
        if let text = cache.stacks[handle] { return text }
        let text = stacks.lines(handle)
        cache.stacks[handle] = text
        return text
    }

    /// The memcg lines of the page (5.19+), nil when there are none; a memcg that cannot be
    /// read is counted and printed as nothing.
    func memcgLines(page: UnsafeRawPointer, cache: inout RecordTextCache) -> [UInt8]? {
        guard let memcg, let field = context.page.memcgData else { return nil }
        let data = field.unsigned(page)
        guard data != 0 else { return nil }
        if cache.memcg.index(forKey: data) == nil {
            // A nil value is stored too: this memcg cannot be read.
            cache.memcg.updateValue(try? memcg.lines(memcgData: data), forKey: data)
        }
        if let text = cache.memcg[data] ?? nil { return text }
        cache.memcgUnreadable += 1
        return nil
    }
}

/// Output buffers handed from the walker threads to the writer and back, so that their
/// memory is faulted in once rather than for every piece of the report. A buffer that grew
/// past `keepLimit` (a piece dense with small blocks) is let go, so the pool stays small.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [[UInt8]] = []
    private let keepLimit = 4 << 20

    func take() -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if var buffer = free.popLast() {
            buffer.removeAll(keepingCapacity: true)
            return buffer
        }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(1 << 20)
        return fresh
    }

    func give(_ buffer: [UInt8]) {
        guard buffer.capacity <= keepLimit else { return }
        lock.lock()
        free.append(buffer)
        lock.unlock()
    }
}

/// Where reports go: stdout in the CLI, a buffer in tests.
public protocol TextSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer)
}

/// Collects everything written, for tests and for small reports.
public final class BufferSink: TextSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ b: UnsafeRawBufferPointer) { bytes.append(contentsOf: b) }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
