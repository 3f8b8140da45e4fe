/// The kernel's page tables as the simulator builds them: mappings are added during boot and
/// the tables are written to their physical pages at the end.
protocol KernelPageTables: AnyObject {
    /// Maps [va, va + length) to [pa, pa + length), with block mappings where the alignment
    /// and the length allow them, pages elsewhere.
    func map(va: UInt64, pa: UInt64, length: UInt64, executable: Bool)
    func write(to phys: PhysicalMemory)
}

/// x86_64 4-level page tables rooted at init_top_pgt. Tables are built in memory and written
/// to their physical pages at the end; new tables come from memblock.
final class PageTables: KernelPageTables {
    static let present: UInt64 = 0x1, writable: UInt64 = 0x2, accessed: UInt64 = 0x20
    static let dirty: UInt64 = 0x40, large: UInt64 = 0x80, global: UInt64 = 0x100
    static let nx: UInt64 = 1 << 63
    static let tableFlags = present | writable | accessed | dirty

    private let rootPhys: UInt64
    private var tables: [UInt64: [UInt64]] = [:]   // physical address -> 512 entries
    private let newTable: () -> UInt64

    init(rootPhys: UInt64, newTable: @escaping () -> UInt64) {
        self.rootPhys = rootPhys
        self.newTable = newTable
        tables[rootPhys] = [UInt64](repeating: 0, count: 512)
    }

    private func index(_ va: UInt64, level: Int) -> Int { Int((va >> UInt64(12 + 9 * level)) & 511) }

    /// Returns the table at `level` (0 = PT) covering va, creating the path.
    private func table(for va: UInt64, level: Int) -> UInt64 {
        var t = rootPhys
        var l = 3
        while l > level {
            let i = index(va, level: l)
            var e = tables[t]![i]
            if e & PageTables.present == 0 {
                let n = newTable()
                tables[n] = [UInt64](repeating: 0, count: 512)
                e = n | PageTables.tableFlags
                tables[t]![i] = e
            }
            t = e & 0x000f_ffff_ffff_f000
            l -= 1
        }
        return t
    }

    func map2M(va: UInt64, pa: UInt64, executable: Bool = false) {
        let t = table(for: va, level: 1)
        tables[t]![index(va, level: 1)] = pa | PageTables.tableFlags | PageTables.large | PageTables.global
            | (executable ? 0 : PageTables.nx)
    }

    func map4K(va: UInt64, pa: UInt64, executable: Bool = false) {
        let t = table(for: va, level: 0)
        tables[t]![index(va, level: 0)] = pa | PageTables.tableFlags | PageTables.global | (executable ? 0 : PageTables.nx)
    }

    func map(va: UInt64, pa: UInt64, length: UInt64, executable: Bool) {
        let twoMiB: UInt64 = 2 << 20
        var off: UInt64 = 0
        while off < length {
            if (va &+ off) & (twoMiB - 1) == 0, (pa + off) & (twoMiB - 1) == 0, length - off >= twoMiB {
                map2M(va: va &+ off, pa: pa + off, executable: executable)
                off += twoMiB
            } else {
                map4K(va: va &+ off, pa: pa + off, executable: executable)
                off += 4096
            }
        }
    }

    func write(to phys: PhysicalMemory) {
        for (pa, entries) in tables.sorted(by: { $0.key < $1.key }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(4096)
            for e in entries { bytes += le(e, 8) }
            phys.write(physical: pa, bytes)
        }
    }
}
