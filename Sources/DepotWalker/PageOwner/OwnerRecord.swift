import ELFCore

/// One page's page_owner record, decoded (for queries and summaries; the text writer reads the
/// fields straight from the dump instead).
public struct OwnerRecord: Sendable {
    public var pfn: UInt64
    public var order: UInt64
    public var gfpMask: UInt64
    public var handle: UInt32
    public var freeHandle: UInt32
    public var lastMigrateReason: Int64
    public var tsNsec: UInt64?
    public var freeTsNsec: UInt64?
    public var pid: Int64?
    public var tgid: Int64?
    public var freePid: Int64?
    public var freeTgid: Int64?
    public var comm: String?
    /// PAGE_EXT_OWNER_ALLOCATED: the page is allocated now (else this is its last owner).
    public var allocated: Bool
    public var pageFlags: UInt64
    public var memcgData: UInt64

    init(pfn: UInt64, page: UnsafeRawPointer, ext: UnsafeRawPointer, context c: PageOwnerContext) {
        // extSize >= 8 and ownerOffset + owner.size <= extSize (PageOwnerContext.init).
        let flags = ext.loadUnaligned(as: UInt64.self)
        let r = ext + Int(c.ownerOffset)
        let o = c.owner
        self.pfn = pfn
        order = o.order.unsigned(r)
        gfpMask = o.gfpMask.unsigned(r)
        handle = UInt32(truncatingIfNeeded: o.handle.unsigned(r))
        freeHandle = UInt32(truncatingIfNeeded: o.freeHandle.unsigned(r))
        lastMigrateReason = o.lastMigrateReason.signed(r)
        tsNsec = o.tsNsec?.unsigned(r)
        freeTsNsec = o.freeTsNsec?.unsigned(r)
        pid = o.pid?.signed(r)
        tgid = o.tgid?.signed(r)
        freePid = o.freePid?.signed(r)
        freeTgid = o.freeTgid?.signed(r)
        comm = o.comm.map { Self.comm(r + $0.offset, max: $0.size) }.map { String(decoding: $0, as: UTF8.self) }
        allocated = flags & c.allocatedFlag != 0
        pageFlags = c.page.flags.unsigned(page)
        memcgData = c.page.memcgData?.unsigned(page) ?? 0
    }

    /// The bytes of a fixed-size `char comm[]` up to its NUL.
    static func comm(_ p: UnsafeRawPointer, max: Int) -> UnsafeRawBufferPointer {
        var n = 0
        while n < max, p.load(fromByteOffset: n, as: UInt8.self) != 0 { n += 1 }
        return UnsafeRawBufferPointer(start: p, count: n)
    }
}

extension PageOwnerContext {
    /// page_owner's flags say the slot was stamped and is allocated now.
    @inline(__always)
    func isStamped(_ ext: UnsafeRawPointer) -> Bool { ext.loadUnaligned(as: UInt64.self) & ownerFlag != 0 }
    @inline(__always)
    func isAllocated(_ ext: UnsafeRawPointer) -> Bool { ext.loadUnaligned(as: UInt64.self) & allocatedFlag != 0 }
}
