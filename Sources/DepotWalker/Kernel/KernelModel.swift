import ELFCore
import Foundation

/// What every page walk needs about one dumped kernel, resolved and checked once from the
/// DWARF, VMCOREINFO and the kernel's globals: the memory map, struct page and page_ext
/// layouts, the pfn range, buddy and pageblock orders. It needs no page_owner (fragmentation
/// runs on any kernel); `PageOwnerContext` adds page_owner's part.
///
/// Services that only some commands print (the stack depot, the symbolizer, the kernel's name
/// tables, memcg names) are built on first use, so a corrupt depot stops only the commands
/// that print stacks, and `fragmentation` never pays for kallsyms.
public class KernelModel: @unchecked Sendable {
    public let dump: KernelDump
    public let page: PageLayout
    /// Where each pfn's struct page, page_ext slot and pageblock flags are.
    public let sections: MemoryMap
    /// Bytes per page_ext slot (`page_ext_size`, 8...4096); nil when the kernel has no page_ext.
    public let pageExtSize: UInt64?
    /// The pfn range `/sys/kernel/debug/page_owner` scans: [min_low_pfn, max_pfn).
    public let minPFN: UInt64
    public let maxPFN: UInt64
    /// MAX_ORDER_NR_PAGES: the chunk that is skipped whole when not pfn_valid.
    public let maxOrderPages: UInt64
    public let maxBuddyOrder: UInt64
    /// 0...maxPageblockOrder: a pageblock is at most 2^30 pages, so scans step forward.
    public let pageblockOrder: UInt64
    /// Bits per pageblock in the pageblock bitmaps (1...64).
    let pageblockBits: UInt64
    /// 6.16+: a separate PB_migrate_isolate bit forces MIGRATE_ISOLATE.
    let isolateBit: UInt64?
    let isolateType: Int?
    let buddy: BuddyTest

    static let maxPFNLimit: UInt64 = 1 << 40
    static let maxPageblockOrder: UInt64 = 30
    /// page_ext_size: the flags word and at most a page of client data.
    static let pageExtSizeRange: ClosedRange<UInt64> = 8...4096

    private let lazyNames: Lazy<FlagNames>
    private let lazyPageFlags: Lazy<PageFlagsFormat>
    private let lazyMigrateTypeNames: Lazy<[String]>
    private let lazySymbolizer: Lazy<Symbolizer>
    private let lazyDepot: Lazy<StackDepot>
    private let lazyMemcg: Lazy<MemcgNames?>

    public init(dump: KernelDump) throws {
        self.dump = dump
        let types = dump.types
        let memory = dump.memory
        let file = dump.vmcorePath
        page = try PageLayout(dump: dump)
        pageExtSize = try Self.pageExtSize(dump)

        minPFN = try memory.u64(try dump.requireAddress(of: "min_low_pfn"))
        maxPFN = try memory.u64(try dump.requireAddress(of: "max_pfn"))
        guard maxPFN <= Self.maxPFNLimit, minPFN <= maxPFN else {
            throw InputError(file: file, reason: "implausible pfn range min_low_pfn \(minPFN), max_pfn \(maxPFN)")
        }
        // LENGTH(zone.free_area) is the number of buddy orders in every version (checked
        // to be 1...20 where VMCOREINFO is read).
        maxBuddyOrder = (dump.info.buddyOrders ?? 11) - 1
        maxOrderPages = 1 << maxBuddyOrder
        pageblockOrder = try Self.pageblockOrder(dump: dump, maxOrder: maxBuddyOrder)
        // NR_PAGEBLOCK_BITS is an enumerator up to 6.15; from 6.16 it is __NR_PAGEBLOCK_BITS
        // rounded up to a power of two, with an isolate bit beside the migratetype bits. Only
        // names a kernel has are looked up (a name no unit has costs a scan of all the DWARF),
        // first in mm/page_alloc.c's unit, which indexes the pageblock bitmap.
        let pageAlloc = ["get_pfnblock_flags_mask", "set_pfnblock_flags_mask", "get_pfnblock_migratetype"]
            .first { dump.symbols.address(of: $0) != nil }
        if let bits = try types.enumerator("NR_PAGEBLOCK_BITS", in: UInt64(1)...64, near: pageAlloc) {
            pageblockBits = bits
            isolateBit = nil
        } else if let count = try types.enumerator("__NR_PAGEBLOCK_BITS", in: UInt64(1)...64, near: pageAlloc) {
            var bits: UInt64 = 1
            while bits < count { bits <<= 1 }
            pageblockBits = bits
            isolateBit = try types.bitNumber("PB_migrate_isolate", near: pageAlloc)
        } else {
            pageblockBits = 4
            isolateBit = nil
        }
        isolateType = isolateBit == nil ? nil : try types.enumerator("MIGRATE_ISOLATE", in: 0...255)
        sections = try MemoryMap(dump: dump, maxPFN: maxPFN, maxOrderPages: maxOrderPages, pageblockOrder: pageblockOrder,
                                 pageSize: UInt64(page.size), extSize: pageExtSize)
        buddy = try BuddyTest(dump: dump, near: pageAlloc)

        let lock = NSRecursiveLock()
        lazyNames = Lazy(lock: lock) { try FlagNames(dump: dump) }
        lazyPageFlags = Lazy(lock: lock) { try PageFlagsFormat(dump: dump) }
        lazyMigrateTypeNames = Lazy(lock: lock) { try FlagNames.strings("migratetype_names", dump: dump) }
        lazySymbolizer = Lazy(lock: lock) { Symbolizer(dump: dump) }
        lazyDepot = Lazy(lock: lock) { try StackDepot(dump: dump) }
        let hasMemcgData = page.memcgData != nil
        lazyMemcg = Lazy(lock: lock) { hasMemcgData ? try? MemcgNames(dump: dump) : nil }
    }

    /// The kernel's `{mask, name}` tables and string arrays for gfp masks, page flags,
    /// migrate reasons and migratetypes.
    public var names: FlagNames { get throws { try lazyNames.get() } }
    /// `%pGp` and where the section, node and zone numbers sit in page->flags.
    public var pageFlags: PageFlagsFormat { get throws { try lazyPageFlags.get() } }
    /// `migratetype_names` alone (fragmentation reads no other table).
    public var migrateTypeNames: [String] { get throws { try lazyMigrateTypeNames.get() } }
    /// `%pS` for stack frames: kallsyms and modules from the dump.
    public var symbolizer: Symbolizer { lazySymbolizer.value }
    public var depot: StackDepot { get throws { try lazyDepot.get() } }
    /// Memcg names for page_owner's memcg lines; nil when the kernel has no memcg_data or its
    /// memcg types cannot be read.
    var memcg: MemcgNames? { lazyMemcg.value }

    /// page_ext_size (a variable from 5.x; 0 when no page_ext client was needed at boot), else
    /// sizeof(struct page_ext) + extra_mem on a page_owner kernel; nil when the kernel has no
    /// page_ext in use.
    static func pageExtSize(_ dump: KernelDump) throws -> UInt64? {
        let size: UInt64
        if let at = dump.address(of: "page_ext_size") {
            size = try dump.memory.u64(at)
            if size == 0 { return nil }
        } else if dump.address(of: "page_owner_ops") != nil {
            let base = try dump.types.structType("page_ext", near: "page_owner_ops").size
            let extra = try dump.address(of: "extra_mem").map { try dump.memory.u64($0) } ?? 0
            size = UInt64(base) &+ extra
        } else {
            return nil
        }
        guard pageExtSizeRange.contains(size) else {
            throw InputError(file: dump.vmcorePath, reason: "page_ext_size \(size) is not a size a page_ext slot can have (\(pageExtSizeRange.lowerBound)...\(pageExtSizeRange.upperBound))")
        }
        return size
    }

    /// pageblock_order: a variable only where the huge page size is variable; otherwise
    /// HUGETLB_PAGE_ORDER with hugetlb (a PMD's pages: PMD_SHIFT − PAGE_SHIFT = PAGE_SHIFT − 3,
    /// so 9 on x86_64 and on arm64 with 4K pages, 11 with 16K, 13 with 64K), capped by the
    /// largest buddy order, and that order without hugetlb.
    static func pageblockOrder(dump: KernelDump, maxOrder: UInt64) throws -> UInt64 {
        if let at = dump.address(of: "pageblock_order") {
            let order = UInt64(try dump.memory.u32(at))
            guard order <= maxPageblockOrder else {
                throw InputError(file: dump.vmcorePath, reason: "pageblock_order \(order) is more than a kernel can have (\(maxPageblockOrder))")
            }
            return order
        }
        // `hstates` exists exactly when CONFIG_HUGETLB_PAGE does (VMCOREINFO's
        // PAGE_HUGETLB_MAPCOUNT_VALUE does not tell: 6.12 writes it either way).
        let hasHugetlb = dump.symbols.address(of: "hstates") != nil
        return hasHugetlb ? min(dump.pageShift - 3, maxOrder) : maxOrder
    }

    /// Migratetype of the pageblock holding `pfn`, from the section's or zone's pageblock
    /// flags; nil when they cannot be read. 0...7, or MIGRATE_ISOLATE (0...255).
    func pageblockMigratetype(_ pfn: UInt64) -> Int? {
        guard let (bitmap, block) = sections.pageblockBitmap(pfn) else { return nil }
        let bit = block &* pageblockBits
        guard let word = try? dump.memory.u64(bitmap &+ (bit / 64) &* 8) else { return nil }
        let bits = word >> (bit % 64)
        if let isolateBit, let isolateType, (bits >> isolateBit) & 1 != 0 { return isolateType }
        return Int(bits & 7)
    }
}

/// PageBuddy: `page_type >> 24 == PGTY_buddy` from 6.12, before that the inverted PG_buddy
/// bit under the 0xf0000000 base. VMCOREINFO's PAGE_BUDDY_MAPCOUNT_VALUE tells which: from
/// 6.12 it is PGTY_buddy << 24 (low 24 bits clear), before it is ~PG_buddy. Only a dump without
/// it is asked of the DWARF (a name the DWARF lacks costs a scan of all of it).
struct BuddyTest: Sendable {
    let typeByte: UInt32?
    let buddyBit: UInt32

    init(dump: KernelDump, near hint: String?) throws {
        if let value = dump.info.pageBuddyMapcountValue {
            (typeByte, buddyBit) = value & 0x00ff_ffff == 0 ? (value >> 24, 0) : (nil, ~value)
        } else if let pgty = try dump.types.enumerator("PGTY_buddy", in: UInt32(0)...255, near: hint) {
            (typeByte, buddyBit) = (pgty, 0)
        } else {
            (typeByte, buddyBit) = (nil, 0x80)
        }
    }

    @inline(__always)
    func isBuddy(pageType: UInt32) -> Bool {
        if let typeByte { return pageType >> 24 == typeByte }
        return pageType & (0xf000_0000 | buddyBit) == 0xf000_0000
    }
}
