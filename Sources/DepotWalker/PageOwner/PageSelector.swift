import ELFCore

/// A RecordSelection applied to the reports that count pages (stacks from the pages, summary,
/// pprof groups) and to `pfn`. A page counts when the record of its block is one page-owner
/// prints under the same selection: the block's head decides for every page of the block (the
/// head holds the block's memcg; a tail's memcg_data field holds folio fields), so the pages a
/// report counts are exactly the pages of the records page-owner lists.
public struct PageSelector {
    /// nil: every page counts (no condition given).
    let text: PageOwnerText?

    public init(context: PageOwnerContext, selection: RecordSelection) throws {
        if selection.selectsAll {
            text = nil
        } else {
            var text = try PageOwnerText(context: context)
            text.selection = selection
            self.text = text
        }
    }

    /// The selector that keeps every page.
    public static let all = PageSelector()
    private init() { text = nil }

    public var selectsAll: Bool { text == nil }

    /// What a walk remembers between pages: the block whose head was judged last.
    public struct WalkState {
        var block: (start: UInt64, end: UInt64, kept: Bool) = (0, 0, false)
        var cache = PageOwnerText.RecordTextCache()
        public init() {}
    }

    /// Whether the allocated page `pfn` (its struct page and page_owner record at hand) counts.
    /// Pages come in pfn order within a walk, so a block's tails reuse its head's answer; a
    /// tail whose head the walk did not see is judged by itself.
    func keeps(pfn: UInt64, page: UnsafeRawPointer, record: UnsafeRawPointer, state: inout WalkState) -> Bool {
        guard let text else { return true }
        if pfn >= state.block.start, pfn < state.block.end { return state.block.kept }
        let o = text.context.owner
        let order = o.order.unsigned(record)
        let size: UInt64 = order < 64 ? 1 << order : 1
        let head = pfn & ~(size &- 1)
        let handle = UInt32(truncatingIfNeeded: o.handle.unsigned(record))
        let kept = text.selection.keeps(pfn: head, page: page, record: record, handle: handle, text: text, cache: &state.cache)
        state.block = (head, head &+ size, kept)
        return kept
    }

    /// Whether `pfn` belongs to a selected record, read on its own (for `pfn`): the record of
    /// the block's head decides, as for the walks.
    public func keeps(pfn: UInt64, context c: PageOwnerContext) -> Bool {
        guard text != nil else { return true }
        guard case .record(let tail, _) = PageQuery.lookup(pfn, context: c), tail.allocated else { return false }
        let head = tail.order < 64 ? pfn & ~((UInt64(1) << tail.order) &- 1) : pfn
        guard let section = c.sections.section(of: head), let extBase = section.pageExt,
              let page = try? c.dump.memory.bytes(section.memMap &+ head &* UInt64(c.page.size), count: c.page.size),
              let ext = try? c.dump.memory.bytes(extBase &+ head &* c.extSize, count: Int(c.extSize)) else { return false }
        var state = WalkState()
        return page.withUnsafeBytes { p in
            ext.withUnsafeBytes { e in
                c.isStamped(e.baseAddress!) && c.isAllocated(e.baseAddress!)
                    && keeps(pfn: head, page: p.baseAddress!, record: e.baseAddress! + Int(c.ownerOffset), state: &state)
            }
        }
    }
}
