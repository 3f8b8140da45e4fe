import ELFCore

/// What page_owner knows about one pfn, for `vmowner pfn`.
public enum PageQuery {
    public enum Answer {
        /// No struct page: a hole, or past max_pfn.
        case noPage(String)
        /// The page has no page_ext slot (its section has none).
        case noPageExt
        /// The slot was never stamped ("page_owner info is not present (never set?)").
        case neverStamped
        /// The record (a copy kept by every base page of a block); `buddyOrder` when the page
        /// heads a free buddy block now.
        case record(OwnerRecord, buddyOrder: UInt64?)
    }

    public static func lookup(_ pfn: UInt64, context c: PageOwnerContext) -> Answer {
        guard pfn < c.maxPFN || c.sections.isValid(pfn) else { return .noPage("beyond max_pfn 0x\(String(c.maxPFN, radix: 16))") }
        guard c.sections.isValid(pfn), let section = c.sections.section(of: pfn) else { return .noPage("not a valid pfn (no memory map there)") }
        let memory = c.dump.memory
        let pageVA = section.memMap &+ pfn &* UInt64(c.page.size)
        guard let page = try? memory.bytes(pageVA, count: c.page.size) else { return .noPage("its struct page at 0x\(String(pageVA, radix: 16)) is not in the dump") }
        guard let extBase = section.pageExt,
              let ext = try? memory.bytes(extBase &+ pfn &* c.extSize, count: Int(c.extSize)) else { return .noPageExt }
        return page.withUnsafeBytes { p in
            ext.withUnsafeBytes { e in
                guard c.isStamped(e.baseAddress!) else { return .neverStamped }
                let record = OwnerRecord(pfn: pfn, page: p.baseAddress!, ext: e.baseAddress!, context: c)
                let pageType = UInt32(truncatingIfNeeded: c.page.pageType.unsigned(p.baseAddress!))
                let buddy = c.buddy.isBuddy(pageType: pageType) ? c.page.privateData.unsigned(p.baseAddress!) : nil
                return .record(record, buddyOrder: buddy)
            }
        }
    }

    /// The answer as `__dump_page_owner` prints it in a bad-page report, in this kernel's
    /// generation of that format, with the memcg lines page_owner would add.
    public static func text(_ pfn: UInt64, _ answer: Answer, context c: PageOwnerContext, stacks: StackReportFrames) throws -> [UInt8] {
        var out: [UInt8] = []
        out.append("PFN ")
        out.appendHex(pfn)
        out.append(" (")
        out.appendDecimal(pfn)
        out.append(")\n")
        switch answer {
        case .noPage(let why):
            out.append(contentsOf: "no page: \(why)\n".utf8)
        case .noPageExt:
            out.append("no page_ext for this page\n")
        case .neverStamped:
            out.append("page_owner info is not present (never set?)\n")
        case .record(let r, let buddyOrder):
            try appendRecord(r, buddyOrder: buddyOrder, context: c, stacks: stacks, into: &out)
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    static func appendRecord(_ r: OwnerRecord, buddyOrder: UInt64?, context c: PageOwnerContext,
                             stacks: StackReportFrames, into out: inout [UInt8]) throws {
        let o = c.owner
        let names = try c.names
        out.append(r.allocated ? "page_owner tracks the page as allocated\n" : "page_owner tracks the page as freed\n")
        if let buddyOrder {
            out.append("page is free in the buddy allocator, order ")
            out.appendDecimal(buddyOrder)
            out.append(UInt8(ascii: "\n"))
        }
        let head = r.order < 64 ? r.pfn & ~((UInt64(1) << r.order) &- 1) : r.pfn
        if head != r.pfn {
            out.append("tail page of the block at PFN ")
            out.appendHex(head)
            out.append(UInt8(ascii: "\n"))
        }
        let types = names.migrateTypes
        let mt = Int((r.gfpMask & 0x18) >> 3)
        out.append("page last allocated via order ")
        out.appendDecimal(r.order)
        out.append(", migratetype ")
        out.append(contentsOf: (mt < types.count ? types[mt] : "").utf8)
        out.append(", gfp_mask ")
        out.appendHex(r.gfpMask)
        out.append(UInt8(ascii: "("))
        FlagNames.format(r.gfpMask, with: names.gfp, into: &out)
        out.append(UInt8(ascii: ")"))
        if let pid = r.pid {
            out.append(", pid ")
            out.appendDecimal(pid)
        }
        if let tgid = r.tgid {
            out.append(", tgid ")
            out.appendDecimal(tgid)
            out.append(contentsOf: " (\(r.comm ?? ""))".utf8)
        }
        if o.freeTsNsec != nil {
            out.append(", ts ")
            out.appendDecimal(r.tsNsec ?? 0)
            out.append(", free_ts ")
            out.appendDecimal(r.freeTsNsec ?? 0)
        }
        out.append(UInt8(ascii: "\n"))
        if r.handle == 0 {
            out.append("page_owner allocation stack trace missing\n")
        } else {
            out.append(contentsOf: stacks.lines(r.handle))
        }
        if r.freeHandle == 0 {
            out.append("page_owner free stack trace missing\n")
        } else {
            if let freePid = r.freePid, let freeTgid = r.freeTgid {
                out.append("page last free pid ")
                out.appendDecimal(freePid)
                out.append(" tgid ")
                out.appendDecimal(freeTgid)
                out.append(" stack trace:\n")
            } else {
                out.append("page last free stack trace:\n")
            }
            out.append(contentsOf: stacks.lines(r.freeHandle))
        }
        if r.lastMigrateReason != -1 {
            let reasons = names.migrateReasons
            let name = r.lastMigrateReason >= 0 && r.lastMigrateReason < Int64(reasons.count) ? reasons[Int(r.lastMigrateReason)] : ""
            out.append(contentsOf: "page has been migrated, last migrate reason: \(name)\n".utf8)
        }
        if let memcg = c.memcg {
            do {
                out.append(contentsOf: try memcg.lines(memcgData: r.memcgData))
            } catch {
                out.append(contentsOf: "memcg_data 0x\(String(r.memcgData, radix: 16)): its memcg cannot be read (\(error))\n".utf8)
            }
        }
    }
}

/// Frame lines by handle, shared by the reports that print stacks.
public final class StackReportFrames: @unchecked Sendable {
    let text: StackText
    public init(context: PageOwnerContext) { text = StackText(context: context) }
    public func lines(_ handle: UInt32) -> [UInt8] { text.lines(handle) }
    public func frames(_ handle: UInt32, context: PageOwnerContext) -> [String] {
        ((try? context.depot.frames(of: handle)) ?? []).map { context.symbolizer.format($0) }
    }
}
