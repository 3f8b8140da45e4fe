import ELFCore
import Dispatch

/// Walks pfns the way `read_page_owner` does and hands each page that has a page_ext slot to a
/// visitor, as pointers into the dump (no copy when the dump stores the bytes plainly).
/// Pages whose struct page or slot cannot be read are counted in `unreadable`.
struct PageWalker {
    let context: PageOwnerContext
    var unreadable = 0
    private var pageCursor = SpanCursor()
    private var extCursor = SpanCursor()
    /// Where a struct page (then a page_ext slot) is copied when the dump does not hold it
    /// plainly: sized by the validated sizeof(struct page) and page_ext_size.
    private let scratch: UnsafeMutableRawPointer

    init(context: PageOwnerContext) {
        self.context = context
        scratch = UnsafeMutableRawPointer.allocate(byteCount: context.page.size + Int(context.extSize), alignment: 16)
    }

    mutating func release() {
        pageCursor.close()
        extCursor.close()
        scratch.deallocate()
    }

    /// Visits pfns in [start, end). `start` is the scan's first pfn or a chunk boundary.
    /// The visitor's `page` holds page.size bytes and `ext` extSize bytes (each a cursor span
    /// of at least that many bytes, or `scratch`, sized for both): the checked layouts then
    /// keep every field load inside them.
    /// With `skipBuddy` (what read_page_owner does) free buddy blocks are stepped over whole;
    /// without it their pages are visited too (their slots keep the last owner).
    mutating func walk(from start: UInt64, to end: UInt64, skipBuddy: Bool = true,
                       visit: (_ pfn: UInt64, _ page: UnsafeRawPointer, _ ext: UnsafeRawPointer) -> Void) {
        let c = context
        let sections = c.sections
        let chunkMask = c.maxOrderPages - 1
        let pageSize = c.page.size
        let extSize = Int(c.extSize)
        let memory = c.dump.memory
        var pfn = start
        // Starting inside a chunk: step to a valid pfn or the next chunk boundary.
        while pfn < end, pfn & chunkMask != 0, !sections.isValid(pfn) { pfn += 1 }
        while pfn < end {
            if pfn & chunkMask == 0, !sections.isValid(pfn) {
                pfn = (pfn | chunkMask) &+ 1
                continue
            }
            guard let section = sections.section(of: pfn), section.hasMemMap else { pfn += 1; continue }
            let pageVA = section.memMap &+ pfn &* UInt64(pageSize)
            guard let page = pageCursor.pointer(memory, pageVA, pageSize, scratch: scratch) else {
                unreadable += 1
                pfn += 1
                continue
            }
            let pageType = UInt32(truncatingIfNeeded: c.page.pageType.unsigned(page))
            if skipBuddy, c.buddy.isBuddy(pageType: pageType) {
                let order = c.page.privateData.unsigned(page)
                pfn += order <= c.maxBuddyOrder ? 1 << order : 1
                continue
            }
            if let extBase = section.pageExt {
                // The struct page may sit in `scratch`; the slot goes after it.
                if let ext = extCursor.pointer(memory, extBase &+ pfn &* UInt64(extSize), extSize, scratch: scratch + pageSize) {
                    visit(pfn, page, ext)
                } else {
                    unreadable += 1
                }
            }
            pfn += 1
        }
    }
}

/// Remembers the last contiguous stretch of the dump it read from, so that consecutive reads
/// of an array cost a compare instead of a translation. Where the dump stores pages plainly
/// (ELF) the stretch is the mapped file itself, released from the resident set when the cursor
/// moves on; where it stores them compressed (kdump) the cursor copies 64 KiB at a time, so
/// each page is decompressed once per walk rather than once per record.
struct SpanCursor {
    private var start: UInt64 = 1
    private var end: UInt64 = 0
    private var base: UnsafeRawPointer?
    private var mapped = false
    private var readUpTo: UInt64 = 0
    private var chunk: UnsafeMutableRawPointer?
    static let chunkSize = 64 << 10

    @inline(__always)
    mutating func pointer(_ memory: KernelMemory, _ va: UInt64, _ count: Int, scratch: UnsafeMutableRawPointer) -> UnsafeRawPointer? {
        // In the stretch: [va, va + count) inside [start, end), in wrap-proof form (the
        // addresses come from the dump), so the pointer stays inside what `base` maps.
        if let base, va &- start < end &- start, UInt64(count) <= end &- va {
            readUpTo = max(readUpTo, va &+ UInt64(count))
            return base + Int(va &- start)
        }
        return refill(memory, va, count, scratch: scratch)
    }

    private mutating func refill(_ memory: KernelMemory, _ va: UInt64, _ count: Int, scratch: UnsafeMutableRawPointer) -> UnsafeRawPointer? {
        finish()
        if let span = memory.directSpan(va), span.count >= UInt64(count) {
            (start, end, base, mapped) = (va, va &+ span.count, span.pointer, true)
            readUpTo = va &+ UInt64(count)
            return span.pointer
        }
        if count <= Self.chunkSize {
            let buffer = chunk ?? UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
            chunk = buffer
            var from = va & ~4095
            if va &- from &+ UInt64(count) > UInt64(Self.chunkSize) { from = va }
            if (try? memory.read(from, into: UnsafeMutableRawBufferPointer(start: buffer, count: Self.chunkSize))) != nil {
                (start, end, base, mapped) = (from, from &+ UInt64(Self.chunkSize), UnsafeRawPointer(buffer), false)
                return UnsafeRawPointer(buffer) + Int(va &- from)
            }
        }
        // Part of the neighbourhood is not in the dump: this record alone.
        base = nil
        do {
            try memory.read(va, into: UnsafeMutableRawBufferPointer(start: scratch, count: count))
            return UnsafeRawPointer(scratch)
        } catch {
            return nil
        }
    }

    /// Releases what was read of the current stretch of the mapped file.
    mutating func finish() {
        guard mapped, let base, readUpTo > start else { return }
        MappedFile.releaseResidentPages(base, count: Int(readUpTo &- start))
        readUpTo = 0
    }

    mutating func close() {
        finish()
        chunk?.deallocate()
        chunk = nil
        base = nil
    }
}

/// Splits the page walk into chunk-aligned ranges and runs them on every core, handing the
/// results back in pfn order, a batch at a time so memory stays bounded.
enum ParallelWalk {
    static let pagesPerJob: UInt64 = 1 << 14

    static func run<T>(context: PageOwnerContext, work: @escaping (ClosedOpenPFNRange) -> T, consume: (T) -> Void) {
        let start = context.minPFN
        let end = context.maxPFN
        var ranges: [ClosedOpenPFNRange] = []
        var at = start
        while at < end {
            let next = min(end, ((at / pagesPerJob) + 1) * pagesPerJob)
            ranges.append(ClosedOpenPFNRange(start: at, end: next))
            at = next
        }
        let batch = max(2, ProcessInfoCores.count * 4)
        var index = 0
        while index < ranges.count {
            let slice = Array(ranges[index..<min(ranges.count, index + batch)])
            let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: slice.count)
            results.initialize(repeating: nil)
            DispatchQueue.concurrentPerform(iterations: slice.count) { i in
                results[i] = work(slice[i])
            }
            for r in results { if let r { consume(r) } }
            results.deinitialize()
            results.deallocate()
            index += batch
            WalkProgress.report?(Double(min(index, ranges.count)) / Double(max(ranges.count, 1)))
        }
    }
}

struct ClosedOpenPFNRange: Sendable {
    let start: UInt64
    let end: UInt64
}

enum ProcessInfoCores {
    static let count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 2
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#endif
