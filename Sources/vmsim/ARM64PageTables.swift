/// arm64 stage-1 translation tables of the kernel half (TTBR1_EL1), rooted at swapper_pg_dir,
/// for the granule and VA size of Platform.current. Descriptors follow arch/arm64 of 6.12
/// (asm/pgtable-hwdef.h, asm/pgtable-prot.h, mm/mmu.c):
/// - tables: PxD_TYPE_TABLE (3) | PxD_TABLE_UXN, next-level address encoded like an output
///   address;
/// - blocks (PMD level, and PUD with 4K pages: 1G): PMD_TYPE_SECT (1) with PROT_SECT_NORMAL;
/// - pages: PTE_TYPE_PAGE (3) with PAGE_KERNEL, or PAGE_KERNEL_ROX for text.
/// Output addresses: bits [49:PAGE_SHIFT] in place; with LPA2 (52-bit VA, 4K/16K) PA[51:50] in
/// bits [9:8] and no shareability bits (TCR_EL1.DS makes SH come from TCR); with LPA (52-bit,
/// 64K) PA[51:48] in bits [15:12].
final class ARM64PageTables: KernelPageTables {
    static let typeTable: UInt64 = 3, typeSect: UInt64 = 1, typePage: UInt64 = 3
    static let rdonly: UInt64 = 1 << 7, shared: UInt64 = 3 << 8, af: UInt64 = 1 << 10
    static let dbm: UInt64 = 1 << 51, pxn: UInt64 = 1 << 53, uxn: UInt64 = 1 << 54
    static let swDirty: UInt64 = 1 << 55, tableUXN: UInt64 = 1 << 60

    private let platform = Platform.current
    private let rootPhys: UInt64
    private var tables: [UInt64: [UInt64]] = [:]
    private let newTable: () -> UInt64

    init(rootPhys: UInt64, newTable: @escaping () -> UInt64) {
        self.rootPhys = rootPhys
        self.newTable = newTable
        tables[rootPhys] = [UInt64](repeating: 0, count: rootEntries)
    }

    private var topLevel: Int { platform.levels - 1 }
    /// Level 0 is the last (PTE) level.
    private func shift(_ level: Int) -> UInt64 { platform.pageShift + (platform.pageShift - 3) * UInt64(level) }
    /// PTRS_PER_PGD: the top level resolves what is left of the VA.
    var rootEntries: Int { 1 << Int(platform.vaBits - shift(topLevel)) }

    private func index(_ va: UInt64, level: Int) -> Int {
        let bits = level == topLevel ? platform.vaBits - shift(level) : platform.pageShift - 3
        return Int((va >> shift(level)) & ((1 << bits) - 1))
    }

    /// __phys_to_pte_val.
    func encode(_ pa: UInt64) -> UInt64 {
        let low = ((UInt64(1) << (50 - platform.pageShift)) - 1) << platform.pageShift
        if platform.isLPA2 { return (pa | pa >> 42) & (((1 << 50) - 1) & ~0xff) }
        if platform.isLPA { return (pa | pa >> 36) & (low | 0xf << 12) }
        return pa
    }

    /// __pte_to_phys.
    func decode(_ desc: UInt64) -> UInt64 {
        let low = ((UInt64(1) << (50 - platform.pageShift)) - 1) << platform.pageShift
        if platform.isLPA2 { return desc & low | (desc & 3 << 8) << 42 }
        if platform.isLPA { return desc & low | (desc & 0xf << 12) << 36 }
        return desc & low
    }

    /// PTE_MAYBE_SHARED / PMD_MAYBE_SHARED: nothing with LPA2.
    private var shareability: UInt64 { platform.isLPA2 ? 0 : ARM64PageTables.shared }

    private func table(for va: UInt64, level: Int) -> UInt64 {
        var t = rootPhys
        var l = topLevel
        while l > level {
            let i = index(va, level: l)
            var e = tables[t]![i]
            if e == 0 {
                let n = newTable()
                tables[n] = [UInt64](repeating: 0, count: platform.entriesPerTable)
                e = encode(n) | ARM64PageTables.typeTable | ARM64PageTables.tableUXN
                tables[t]![i] = e
            }
            precondition(e & 3 == ARM64PageTables.typeTable, "vmsim internal error: block where a table is needed")
            t = decode(e)
            l -= 1
        }
        return t
    }

    /// Whether `level` can hold a block: PMD always, PUD (1 GiB) with 4K pages.
    private func allowsBlock(_ level: Int) -> Bool {
        level == 1 || (level == 2 && platform.pageShift == 12)
    }

    private func set(va: UInt64, pa: UInt64, level: Int, executable: Bool) {
        let T = ARM64PageTables.self
        var d = encode(pa) | T.af | shareability | T.swDirty
        d |= executable ? T.uxn | T.rdonly : T.pxn | T.uxn | T.dbm
        d |= level == 0 ? T.typePage : T.typeSect
        let t = table(for: va, level: level)
        tables[t]![index(va, level: level)] = d
    }

    func map(va: UInt64, pa: UInt64, length: UInt64, executable: Bool) {
        var off: UInt64 = 0
        while off < length {
            var level = min(2, topLevel)
            while level > 0 {
                let size = UInt64(1) << shift(level)
                if allowsBlock(level), (va &+ off) & (size - 1) == 0, (pa + off) & (size - 1) == 0, length - off >= size { break }
                level -= 1
            }
            set(va: va &+ off, pa: pa + off, level: level, executable: executable)
            off += UInt64(1) << shift(level)
        }
    }

    func write(to phys: PhysicalMemory) {
        for (pa, entries) in tables.sorted(by: { $0.key < $1.key }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(entries.count * 8)
            for e in entries { bytes += le(e, 8) }
            phys.write(physical: pa, bytes)
        }
    }
}
