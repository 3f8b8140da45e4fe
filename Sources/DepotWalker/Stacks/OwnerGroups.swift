import ELFCore
import Foundation

/// Allocated pages counted per (stack, task, gfp mask, memcg): the labelled view that pprof
/// exports. The same walk as PageCensus (allocated base pages, boot pages excluded as the
/// kernel's stack counts exclude them), so per stack the pages add up to `stacks --from-pages`.
public struct OwnerGroup: Sendable {
    public let handle: UInt32
    public let pid: Int64?
    public let comm: String?
    public let gfpMask: UInt64
    /// `0x...(NAMES)` as page_owner prints the mask.
    public let gfpText: String
    /// The memory cgroup's name; nil when the page is not charged or the name cannot be read.
    public let memcg: String?
    public let pages: Int64
}

public enum OwnerGroups {
    public struct Result: Sendable {
        public let groups: [OwnerGroup]
        public let unreadable: Int
    }

    private struct Key: Hashable {
        var handle: UInt32
        var pid: Int64
        var comm0: UInt64
        var comm1: UInt64
        var gfp: UInt64
        var memcgData: UInt64
    }

    public static func count(_ c: PageOwnerContext, selector: PageSelector = .all) throws -> Result {
        let gfpNames = try c.names.gfp
        var total: [Key: Int64] = [:]
        var unreadable = 0
        ParallelWalk.run(context: c, work: { range -> ([Key: Int64], Int) in
            var part: [Key: Int64] = [:]
            var walker = PageWalker(context: c)
            defer { walker.release() }
            var run: (key: Key?, pages: Int64) = (nil, 0)
            // The memcg of a block is its head page's (page_owner prints the head): a tail's
            // memcg_data field holds folio fields, not a memcg.
            var block: (end: UInt64, memcgData: UInt64) = (0, 0)
            let o = c.owner
            var selection = PageSelector.WalkState()
            walker.walk(from: range.start, to: range.end, skipBuddy: false) { pfn, page, ext in
                guard c.isStamped(ext), c.isAllocated(ext) else { return }
                let r = ext + Int(c.ownerOffset)
                guard selector.keeps(pfn: pfn, page: page, record: r, state: &selection) else { return }
                let order = o.order.unsigned(r)
                if pfn >= block.end || order == 0 {
                    let size: UInt64 = order <= c.maxBuddyOrder &+ 10 ? 1 << order : 1
                    block = (pfn & ~(size &- 1) &+ size, pfn & (size &- 1) == 0 ? c.page.memcgData?.unsigned(page) ?? 0 : 0)
                }
                var key = Key(handle: UInt32(truncatingIfNeeded: o.handle.unsigned(r)), pid: o.pid?.signed(r) ?? 0,
                              comm0: 0, comm1: 0, gfp: o.gfpMask.unsigned(r), memcgData: block.memcgData)
                if let comm = o.comm, comm.size >= 16 {
                    key.comm0 = r.loadUnaligned(fromByteOffset: comm.offset, as: UInt64.self)
                    key.comm1 = r.loadUnaligned(fromByteOffset: comm.offset + 8, as: UInt64.self)
                }
                if key != run.key {
                    if let previous = run.key { part[previous, default: 0] += run.pages }
                    run = (key, 0)
                }
                run.pages += 1
            }
            if let last = run.key { part[last, default: 0] += run.pages }
            return (part, walker.unreadable)
        }, consume: { part in
            for (k, v) in part.0 { total[k, default: 0] += v }
            unreadable += part.1
        })

        var gfpTexts: [UInt64: String] = [:]
        var memcgNames: [UInt64: String?] = [:]
        let groups = total.filter { $0.key.handle != c.earlyHandle && $0.key.handle != 0 }.map { key, pages -> OwnerGroup in
            let gfp = gfpTexts[key.gfp] ?? {
                var text: [UInt8] = []
                text.appendHex(key.gfp)
                text.append(UInt8(ascii: "("))
                FlagNames.format(key.gfp, with: gfpNames, into: &text)
                text.append(UInt8(ascii: ")"))
                let s = String(decoding: text, as: UTF8.self)
                gfpTexts[key.gfp] = s
                return s
            }()
            let memcg: String?
            if let known = memcgNames[key.memcgData] {
                memcg = known
            } else {
                memcg = memcgName(c, key.memcgData)
                memcgNames[key.memcgData] = memcg
            }
            return OwnerGroup(handle: key.handle, pid: c.owner.pid == nil ? nil : key.pid,
                              comm: c.owner.comm == nil ? nil : commString(key.comm0, key.comm1),
                              gfpMask: key.gfp, gfpText: gfp, memcg: memcg, pages: pages)
        }
        return Result(groups: groups.sorted { ($0.pages, $1.handle, $1.pid ?? 0) > ($1.pages, $0.handle, $0.pid ?? 0) },
                      unreadable: unreadable)
    }

    /// The name in page_owner's "Charged ... memcg NAME" line, if the page is charged.
    private static func memcgName(_ c: PageOwnerContext, _ data: UInt64) -> String? {
        guard data != 0, let names = c.memcg, let lines = try? names.lines(memcgData: data) else { return nil }
        let text = String(decoding: lines, as: UTF8.self)
        guard text.hasPrefix("Charged "), let at = text.range(of: "memcg ") else { return nil }
        return String(text[at.upperBound...].prefix { $0 != "\n" })
    }

    private static func commString(_ a: UInt64, _ b: UInt64) -> String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (a, b)) { raw in
            for byte in raw { if byte == 0 { break }; bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
