import Foundation

/// A minimal reader of kdump-compressed files for the format tests (x86_64 layout), written
/// from the format description, independent of the reader in ELFCore.
struct KdumpFile {
    let data: Data

    struct Descriptor { let offset: UInt64; let size: UInt32; let flags: UInt32 }
    struct Page { let data: Data; let isZero: Bool }

    init(_ url: URL) throws {
        data = try Data(contentsOf: url)
        guard data.count >= 2 * 4096 else { throw SimTools.Failed(description: "\(url.path): too short for a kdump file") }
    }

    private func le(_ o: Int, _ n: Int) -> UInt64 {
        guard o >= 0, o + n <= data.count else { return 0 }
        return (0..<n).reduce(UInt64(0)) { $0 | UInt64(data[data.startIndex + o + $1]) << (8 * UInt64($1)) }
    }

    var signature: String { String(decoding: data.prefix(8), as: UTF8.self) }
    func u32(_ o: Int) -> UInt32 { UInt32(le(o, 4)) }
    func sub32(_ o: Int) -> UInt32 { UInt32(le(4096 + o, 4)) }
    func sub64(_ o: Int) -> UInt64 { le(4096 + o, 8) }

    var vmcoreinfo: String {
        let o = Int(sub64(32)), n = Int(sub64(40))
        guard o > 0, o + n <= data.count else { return "" }
        return String(decoding: data[o..<(o + n)], as: UTF8.self)
    }

    private var subBlocks: Int { Int(u32(432)) }
    private var bitmapBlocks: Int { Int(u32(436)) }

    /// The pfns set in the 1st (RAM) or 2nd (dumped) bitmap, ascending.
    func bitmap(first: Bool) -> [UInt64] {
        let half = bitmapBlocks / 2 * 4096
        let start = (1 + subBlocks) * 4096 + (first ? 0 : half)
        var pfns: [UInt64] = []
        for i in 0..<half where start + i < data.count {
            let b = data[start + i]
            guard b != 0 else { continue }
            for bit in 0..<8 where b & (1 << bit) != 0 { pfns.append(UInt64(i * 8 + bit)) }
        }
        return pfns
    }

    func descriptors(count: Int) -> [Descriptor] {
        let start = (1 + subBlocks + bitmapBlocks) * 4096
        return (0..<count).map { i in
            let o = start + i * 24
            return Descriptor(offset: le(o, 8), size: UInt32(le(o + 8, 4)), flags: UInt32(le(o + 12, 4)))
        }
    }

    /// Every dumped pfn with its stored (possibly compressed) bytes; zero pages are those
    /// pointing at the shared zero page.
    func pages() -> [UInt64: Page] {
        let pfns = bitmap(first: false)
        let descs = descriptors(count: pfns.count)
        var result: [UInt64: Page] = [:]
        for (pfn, d) in zip(pfns, descs) {
            let o = Int(clamping: d.offset), n = Int(d.size)
            guard o + n <= data.count else { continue }
            let bytes = data[o..<(o + n)]
            result[pfn] = Page(data: bytes, isZero: d.flags == 0 && n == 4096 && !bytes.contains { $0 != 0 })
        }
        return result
    }
}

/// The PT_LOAD headers of an ELF64 core.
struct ELFLoads {
    struct Segment { let offset: UInt64; let paddr: UInt64; let filesz: UInt64; let memsz: UInt64 }
    let segments: [Segment]

    init(_ d: Data) throws {
        func u(_ o: Int, _ n: Int) throws -> UInt64 {
            guard o >= 0, o + n <= d.count else { throw SimTools.Failed(description: "ELF header read past the end") }
            return (0..<n).reduce(UInt64(0)) { $0 | UInt64(d[o + $1]) << (8 * UInt64($1)) }
        }
        let phoff = Int(try u(0x20, 8)), phnum = Int(try u(0x38, 2))
        var s: [Segment] = []
        for i in 0..<phnum where try u(phoff + i * 56, 4) == 1 {
            let p = phoff + i * 56
            s.append(Segment(offset: try u(p + 8, 8), paddr: try u(p + 24, 8), filesz: try u(p + 32, 8), memsz: try u(p + 40, 8)))
        }
        segments = s
    }

    func fileOffset(_ pa: UInt64) -> UInt64? {
        for s in segments where pa >= s.paddr && pa < s.paddr + s.filesz { return s.offset + (pa - s.paddr) }
        return nil
    }
}
