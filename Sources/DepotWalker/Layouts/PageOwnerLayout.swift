import ELFCore

/// `struct page_owner` (mm/page_owner.c) as this kernel lays it out. It grew from 16 to 64
/// bytes over the versions; the optional fields are the ones a generation may lack. Every
/// field lies inside `size` bytes (checked by Field and the DWARF layer).
public struct PageOwnerLayout: Sendable {
    public let size: Int
    public let order: Field
    public let lastMigrateReason: Field
    public let gfpMask: Field
    public let handle: Field
    public let freeHandle: Field
    public let tsNsec: Field?
    public let freeTsNsec: Field?
    public let comm: ByteArrayField?
    public let pid: Field?
    public let tgid: Field?
    public let freePid: Field?
    public let freeTgid: Field?

    init(types: any KernelTypes) throws {
        let t = try types.structType("page_owner", near: "page_owner_ops")
        size = t.size
        order = try t.field("order")
        lastMigrateReason = try t.field("last_migrate_reason")
        gfpMask = try t.field("gfp_mask")
        handle = try t.field("handle")
        freeHandle = try t.field("free_handle")
        tsNsec = try t.optionalField("ts_nsec")
        freeTsNsec = try t.optionalField("free_ts_nsec")
        comm = ByteArrayField(try t.memberIfPresent("comm"))
        pid = try t.optionalField("pid")
        tgid = try t.optionalField("tgid")
        freePid = try t.optionalField("free_pid")
        freeTgid = try t.optionalField("free_tgid")
    }
}
