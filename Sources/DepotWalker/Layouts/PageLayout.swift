import ELFCore

/// The parts of `struct page` the walkers read.
public struct PageLayout: Sendable {
    /// sizeof(struct page): 16...1024 bytes, and every field below lies inside it (checked
    /// where the DWARF is read), so a load at a field's offset from a buffer of `size` bytes
    /// is in bounds.
    public let size: Int
    public let flags: Field
    public let privateData: Field
    /// `page_type` (6.x, shared with _mapcount) — for PageBuddy.
    public let pageType: Field
    public let memcgData: Field?

    init(dump: KernelDump) throws {
        let vmlinux = dump.kernelFile
        let t = try dump.types.structType("page")
        guard VMCoreInfo.pageStructSizeRange.contains(UInt64(t.size)) else {
            throw InputError(file: vmlinux, reason: "struct page is \(t.size) bytes in the \(dump.types.origin), not a size a kernel's struct page has")
        }
        // VMCOREINFO's SIZE(page) is the crashed kernel's own sizeof: it must agree.
        if let fromNote = dump.info.pageStructSize, fromNote != t.size {
            throw InputError(file: dump.vmcorePath, reason: "struct page is \(t.size) bytes in the \(dump.types.origin) but the dump's VMCOREINFO says SIZE(page)=\(fromNote): the note or \(vmlinux) is wrong")
        }
        size = t.size
        flags = try t.field("flags")
        privateData = try t.field("private")
        pageType = try t.optionalField("page_type") ?? t.field("_mapcount")
        memcgData = try t.optionalField("memcg_data")
    }
}
