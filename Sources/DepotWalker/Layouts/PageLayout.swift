import ELFCore

/// The parts of `struct page` the walkers read.
public struct PageLayout: Sendable {
    public let size: Int
    public let flags: Field
    public let privateData: Field
    /// `page_type` (6.x, shared with _mapcount) — for PageBuddy.
    public let pageType: Field
    public let memcgData: Field?

    init(types: DebugTypes, info: VMCoreInfo) throws {
        let t = try types.structType("page")
        size = Int(info.size("page") ?? UInt64(t.size))
        flags = try t.field("flags")
        privateData = try t.field("private")
        pageType = try t.optionalField("page_type") ?? t.field("_mapcount")
        memcgData = t.optionalField("memcg_data")
    }
}
