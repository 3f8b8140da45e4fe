import ELFCore

/// Owners of pages that are out in swap: the swap_page_owner RFC ("mm/page_owner: add support
/// for pages in swap space", Dec 2025, not merged) keeps, per swap entry, a copy of the
/// owner record in an xarray keyed by `swp_entry_t.val`. The model read here is vmsim's
/// 6.19-swap profile (Sources/vmsim/SwapPageOwner.swift): `swap_page_owner_xa` holding pointers
/// to `struct swap_page_owner` {handle, order, gfp_mask, pid, tgid, comm, ts_nsec}; value and
/// retry entries in the tree are not records.
public struct SwapOwners {
    public struct Record: Sendable {
        public let entry: UInt64          // swp_entry_t.val: type << 58 | offset
        public let handle: UInt32
        public let order: UInt64
        public let gfpMask: UInt64
        public let pid: Int64
        public let tgid: Int64
        public let comm: String
        public let tsNsec: UInt64
    }

    public static let xarraySymbol = "swap_page_owner_xa"

    /// True when the kernel keeps owners of swapped-out pages.
    public static func isPresent(_ dump: KernelDump) -> Bool {
        dump.address(of: xarraySymbol) != nil && dump.types.hasVariable(xarraySymbol)
    }

    /// Every record, in swap entry order.
    public static func read(dump: KernelDump) throws -> [Record] {
        guard isPresent(dump) else {
            throw InputError(file: dump.vmcorePath, reason: "this kernel keeps no owners of swapped-out pages (no \(xarraySymbol): it was built without the swap_page_owner patches)")
        }
        let types = dump.types
        let memory = dump.memory
        let xarray = try types.structType("xarray", near: xarraySymbol)
        let head = try memory.u64(try dump.requireAddress(of: xarraySymbol) &+ UInt64(try xarray.member("xa_head").offset))
        let t = try types.structType("swap_page_owner", near: xarraySymbol)
        let handle = try t.field("handle"), order = try t.field("order"), gfp = try t.field("gfp_mask")
        let pid = try t.field("pid"), tgid = try t.field("tgid"), ts = try t.field("ts_nsec")
        guard let comm = ByteArrayField(try t.member("comm")) else {
            throw InputError(file: dump.kernelFile, reason: "struct swap_page_owner.comm is not a char array in the \(dump.types.origin)")
        }
        var records: [Record] = []
        for entry in try XArrayWalk(dump: dump).entries(head: head) where entry.value & 1 == 0 {
            let raw = try memory.bytes(entry.value, count: t.size)
            let record = raw.withUnsafeBytes { p -> Record in
                let b = p.baseAddress!
                return Record(entry: entry.index, handle: UInt32(truncatingIfNeeded: handle.unsigned(b)),
                              order: order.unsigned(b), gfpMask: gfp.unsigned(b),
                              pid: pid.signed(b), tgid: tgid.signed(b),
                              comm: String(decoding: OwnerRecord.comm(b + comm.offset, max: comm.size), as: UTF8.self),
                              tsNsec: ts.unsigned(b))
            }
            records.append(record)
        }
        return records
    }

    /// The swap_page_owner text: per record `Page allocated via pid N, tgid N (comm), ts N ns`,
    /// `SWP entry 0x…`, the stack, a blank line.
    public static func text(_ records: [Record], stacks: StackReportFrames) -> [UInt8] {
        var out: [UInt8] = []
        for r in records {
            out.append("Page allocated via pid ")
            out.appendDecimal(r.pid)
            out.append(", tgid ")
            out.appendDecimal(r.tgid)
            out.append(" (")
            out.append(contentsOf: r.comm.utf8)
            out.append("), ts ")
            out.appendDecimal(r.tsNsec)
            out.append(" ns\nSWP entry ")
            out.appendHex(r.entry)
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: stacks.lines(r.handle))
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Stack counts with swapped-out pages added under their allocation stacks.
    public static func adding(_ records: [Record], to stacks: [StackCount]) -> [StackCount] {
        var extra: [UInt32: Int64] = [:]
        // Orders come from the dump: a block is at most 2^40 pages, and the sums wrap rather
        // than trap on crafted records.
        for r in records where r.order <= 40 { extra[r.handle, default: 0] &+= Int64(1) << r.order }
        return stacks.map { StackCount(handle: $0.handle, pages: $0.pages &+ (extra[$0.handle] ?? 0), frames: $0.frames) }
    }
}
