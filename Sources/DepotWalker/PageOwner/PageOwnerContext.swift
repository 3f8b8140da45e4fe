import ELFCore

/// Everything the page_owner walkers need about one dumped kernel, resolved once from the
/// DWARF, VMCOREINFO and the kernel's globals.
public final class PageOwnerContext: @unchecked Sendable {
    public let dump: KernelDump
    public let owner: PageOwnerLayout
    public let page: PageLayout
    /// Where each pfn's struct page, page_ext slot and pageblock flags are.
    public let sections: MemoryMap
    /// Bytes per page_ext slot (`page_ext_size`) and where page_owner's part starts in it.
    public let extSize: UInt64
    public let ownerOffset: UInt64
    let ownerFlag: UInt64
    let allocatedFlag: UInt64
    /// PAGE_EXT_OWNER_SWAPPED (swap_page_owner RFC): the record was restored at swap-in.
    let swappedFlag: UInt64?
    /// The pfn range `/sys/kernel/debug/page_owner` scans: [min_low_pfn, max_pfn).
    public let minPFN: UInt64
    public let maxPFN: UInt64
    /// MAX_ORDER_NR_PAGES: the chunk that is skipped whole when not pfn_valid.
    public let maxOrderPages: UInt64
    public let maxBuddyOrder: UInt64
    public let pageblockOrder: UInt64
    let pageblockBits: UInt64
    /// 6.16+: a separate PB_migrate_isolate bit forces MIGRATE_ISOLATE.
    let isolateBit: UInt64?
    let isolateType: Int?
    let buddy: BuddyTest
    public let names: FlagNames
    let pageFlags: PageFlagsFormat
    public let depot: StackDepot
    public let symbolizer: Symbolizer
    let memcg: MemcgNames?
    /// page_owner's own handles: allocations inside page_owner, depot failures, boot pages.
    public let dummyHandle: UInt32
    public let failureHandle: UInt32
    public let earlyHandle: UInt32

    public init(dump: KernelDump) throws {
        self.dump = dump
        let types = dump.vmlinux.types
        let memory = dump.memory
        guard try Self.isEnabled(dump) else {
            throw InputError(file: dump.vmcorePath, reason: "page_owner was not enabled on this kernel (boot with page_owner=on)")
        }
        owner = try PageOwnerLayout(types: types)
        page = try PageLayout(types: types, info: dump.info)

        let opsType = try types.structType("page_ext_operations", near: "page_owner_ops")
        ownerOffset = try opsType.field("offset").read(memory, at: try dump.requireAddress(of: "page_owner_ops"))
        if let at = dump.address(of: "page_ext_size") {
            extSize = try memory.u64(at)
        } else {
            let base = try types.structType("page_ext", near: "page_owner_ops").size
            let extra = try dump.address(of: "extra_mem").map { try memory.u64($0) } ?? 0
            extSize = UInt64(base) &+ extra
        }
        guard extSize >= ownerOffset &+ UInt64(owner.size), extSize < 4096 else {
            throw InputError(file: dump.vmcorePath, reason: "page_ext_size \(extSize) cannot hold page_owner at offset \(ownerOffset) (\(owner.size) bytes)")
        }
        ownerFlag = UInt64(1) << UInt64(types.enumerator("PAGE_EXT_OWNER", near: "page_owner_ops") ?? 0)
        allocatedFlag = UInt64(1) << UInt64(types.enumerator("PAGE_EXT_OWNER_ALLOCATED", near: "page_owner_ops") ?? 1)
        swappedFlag = types.enumerator("PAGE_EXT_OWNER_SWAPPED", near: "page_owner_ops").map { UInt64(1) << UInt64($0 & 63) }

        minPFN = try memory.u64(try dump.requireAddress(of: "min_low_pfn"))
        maxPFN = try memory.u64(try dump.requireAddress(of: "max_pfn"))
        guard maxPFN <= 1 << 40, minPFN <= maxPFN else {
            throw InputError(file: dump.vmcorePath, reason: "implausible pfn range min_low_pfn \(minPFN), max_pfn \(maxPFN)")
        }
        // LENGTH(zone.free_area) is the number of buddy orders in every version.
        let orders = dump.info.length("zone.free_area") ?? 11
        guard orders >= 1, orders <= 20 else { throw InputError(file: dump.vmcorePath, reason: "implausible LENGTH(zone.free_area) \(orders)") }
        maxBuddyOrder = orders - 1
        maxOrderPages = 1 << maxBuddyOrder
        pageblockOrder = try Self.pageblockOrder(dump: dump, maxOrder: maxBuddyOrder)
        // NR_PAGEBLOCK_BITS is an enumerator up to 6.15; from 6.16 it is __NR_PAGEBLOCK_BITS
        // rounded up to a power of two, with an isolate bit beside the migratetype bits.
        if let bits = types.enumerator("NR_PAGEBLOCK_BITS") {
            pageblockBits = UInt64(bits)
        } else if let count = types.enumerator("__NR_PAGEBLOCK_BITS"), count > 0, count <= 64 {
            var bits: UInt64 = 1
            while bits < UInt64(count) { bits <<= 1 }
            pageblockBits = bits
        } else {
            pageblockBits = 4
        }
        isolateBit = types.enumerator("PB_migrate_isolate").map { UInt64($0) }
        isolateType = types.enumerator("MIGRATE_ISOLATE").map { Int($0) }
        sections = try MemoryMap(dump: dump, maxPFN: maxPFN, maxOrderPages: maxOrderPages, pageblockOrder: pageblockOrder,
                                 pageSize: UInt64(page.size), extSize: extSize)
        buddy = BuddyTest(dump: dump)
        names = try FlagNames(dump: dump)
        pageFlags = try PageFlagsFormat(dump: dump)
        depot = try StackDepot(dump: dump)
        symbolizer = Symbolizer(dump: dump)
        memcg = page.memcgData == nil ? nil : try? MemcgNames(dump: dump)
        func handle(_ name: String) -> UInt32 {
            guard let at = dump.address(of: name) else { return 0 }
            return (try? memory.u32(at)) ?? 0
        }
        dummyHandle = handle("dummy_handle")
        failureHandle = handle("failure_handle")
        earlyHandle = handle("early_handle")
    }

    /// `page_owner_inited`, a static key: enabled when its counter is positive.
    public static func isEnabled(_ dump: KernelDump) throws -> Bool {
        guard let at = dump.address(of: "page_owner_inited") else { return false }
        return Int32(bitPattern: try dump.memory.u32(at)) > 0
    }

    /// pageblock_order: a variable only where the huge page size is variable; otherwise
    /// HUGETLB_PAGE_ORDER (9 on x86_64) with hugetlb and the largest buddy order without.
    static func pageblockOrder(dump: KernelDump, maxOrder: UInt64) throws -> UInt64 {
        if let at = dump.address(of: "pageblock_order") { return UInt64(try dump.memory.u32(at)) }
        // `hstates` exists exactly when CONFIG_HUGETLB_PAGE does (VMCOREINFO's
        // PAGE_HUGETLB_MAPCOUNT_VALUE does not tell: 6.12 writes it either way).
        let hasHugetlb = dump.vmlinux.symbols.address(of: "hstates") != nil
        return hasHugetlb ? min(9, maxOrder) : maxOrder
    }

    /// Migratetype of the pageblock holding `pfn`, from the section's or zone's pageblock flags.
    func pageblockMigratetype(_ pfn: UInt64) -> Int? {
        guard let (bitmap, block) = sections.pageblockBitmap(pfn) else { return nil }
        let bit = block &* pageblockBits
        guard let word = try? dump.memory.u64(bitmap &+ (bit / 64) &* 8) else { return nil }
        let bits = word >> (bit % 64)
        if let isolateBit, let isolateType, isolateBit < 64, (bits >> isolateBit) & 1 != 0 { return isolateType }
        return Int(bits & 7)
    }
}

/// PageBuddy: `page_type >> 24 == PGTY_buddy` from 6.11/6.12, before that the inverted
/// PG_buddy bit under the 0xf0000000 base (vmcoreinfo PAGE_BUDDY_MAPCOUNT_VALUE is ~PG_buddy).
struct BuddyTest: Sendable {
    let typeByte: UInt32?
    let buddyBit: UInt32

    init(dump: KernelDump) {
        if let pgty = dump.vmlinux.types.enumerator("PGTY_buddy") {
            typeByte = UInt32(truncatingIfNeeded: pgty)
            buddyBit = 0
        } else {
            typeByte = nil
            let value = dump.info.number("PAGE_BUDDY_MAPCOUNT_VALUE").map { UInt32(truncatingIfNeeded: $0) } ?? ~UInt32(0x80)
            buddyBit = ~value
        }
    }

    @inline(__always)
    func isBuddy(pageType: UInt32) -> Bool {
        if let typeByte { return pageType >> 24 == typeByte }
        return pageType & (0xf000_0000 | buddyBit) == 0xf000_0000
    }
}
