/// Kernel virtual → physical address translation for arm64: the kernel image through
/// `kimage_voffset`, the linear map through `PHYS_OFFSET`, and a walk of the kernel's stage-1
/// tables (TTBR1, rooted at swapper_pg_dir) for everything else (vmemmap, vmalloc, modules).
/// 4K, 16K and 64K granules; 36- to 52-bit VA; block mappings at any level above the last.
public struct ARM64Translation: Sendable {
    /// Kernel image [_text, _end) at run time: PA = VA − kimage_voffset.
    public let imageStart: UInt64
    public let imageEnd: UInt64
    /// NUMBER(kimage_voffset).
    public let kimageVoffset: UInt64
    /// The linear map [linearStart, linearEnd): PA = VA − linearStart + physOffset (mod 2^64).
    public let linearStart: UInt64
    public let linearEnd: UInt64
    /// NUMBER(PHYS_OFFSET) (memstart_addr): negative, a huge u64, when KASLR lowers it to
    /// randomize the linear map.
    public let physOffset: UInt64
    /// Physical address of swapper_pg_dir.
    public let rootTable: UInt64
    /// log2 of the granule: 12, 14 or 16.
    public let pageShift: UInt64
    /// Bits of VA the tables resolve: 64 − TCR_EL1.T1SZ (a 52-bit kernel on a CPU without
    /// LPA2/LVA runs with 48).
    public let walkBits: UInt64
    /// Whether descriptors use the LPA2 format (4K/16K granules with 52-bit addresses): output
    /// address bits 51:50 sit in descriptor bits 9:8 and bits 49:48 are address bits too.
    public let lpa2: Bool

    public static let pageShifts: Set<UInt64> = [12, 14, 16]
    public static let walkBitsRange: ClosedRange<UInt64> = 36...52

    /// All values must already be checked: `pageShift` one of `pageShifts`, `walkBits` in
    /// `walkBitsRange` (so every shift below stays under 64).
    public init(imageStart: UInt64, imageEnd: UInt64, kimageVoffset: UInt64, linearStart: UInt64,
                linearEnd: UInt64, physOffset: UInt64, rootTable: UInt64, pageShift: UInt64, walkBits: UInt64) {
        self.imageStart = imageStart
        self.imageEnd = imageEnd
        self.kimageVoffset = kimageVoffset
        self.linearStart = linearStart
        self.linearEnd = linearEnd
        self.physOffset = physOffset
        self.rootTable = rootTable
        self.pageShift = pageShift
        self.walkBits = walkBits
        self.lpa2 = walkBits == 52 && pageShift != 16
    }

    /// How many table levels the walk takes: each resolves pageShift − 3 bits above the page
    /// offset (4K 48-bit: 4; 64K 42-bit: 2; 4K 52-bit: 5).
    public var levels: UInt64 {
        let bitsPerLevel = pageShift - 3
        return (walkBits - pageShift + bitsPerLevel - 1) / bitsPerLevel
    }

    /// Top-byte tags (KASAN software tags, MTE) are ignored by the MMU for TTBR1 addresses:
    /// a pointer whose bit 55 is set means the same address with the top byte all ones.
    @inline(__always)
    public static func untagged(_ va: UInt64) -> UInt64 {
        va & (1 << 55) != 0 ? va | 0xff00_0000_0000_0000 : va
    }

    public func translate(_ raw: UInt64, memory: PhysicalMemory) throws -> (physical: UInt64, contiguous: UInt64) {
        let va = Self.untagged(raw)
        if va >= imageStart, va < imageEnd {
            return (va &- kimageVoffset, imageEnd - va)
        }
        if va >= linearStart, va < linearEnd {
            return ((va &- linearStart) &+ physOffset, linearEnd - va)
        }
        return try walk(va, memory: memory)
    }

    /// Walks the tables from `rootTable`. Descriptor bits 1:0 are 0b11 for a table (or, at the
    /// last level, a page) and 0b01 for a block; bit 0 clear is invalid.
    public func walk(_ va: UInt64, memory: PhysicalMemory) throws -> (physical: UInt64, contiguous: UInt64) {
        // TTBR1 addresses have every bit above the walked ones set.
        guard va >> walkBits == UInt64.max >> walkBits else { throw MemoryFault.badAddress(virtual: va) }
        let bitsPerLevel = pageShift - 3
        var table = rootTable
        var level = levels
        while level > 0 {
            level -= 1
            let shift = pageShift + level * bitsPerLevel
            let indexBits = min(bitsPerLevel, walkBits - shift)
            let index = (va >> shift) & ((1 << indexBits) - 1)
            var raw: UInt64 = 0
            try withUnsafeMutableBytes(of: &raw) { try memory.read(physical: table &+ index &* 8, into: $0) }
            let entry = UInt64(littleEndian: raw)
            guard entry & 1 != 0 else { throw MemoryFault.unmapped(virtual: va) }
            let isTableOrPage = entry & 2 != 0
            if level == 0 {
                guard isTableOrPage else { throw MemoryFault.unmapped(virtual: va) }
            }
            if level == 0 || !isTableOrPage {
                let size: UInt64 = 1 << shift
                let within = va & (size - 1)
                return ((outputAddress(entry) & ~(size - 1)) | within, size - within)
            }
            table = outputAddress(entry)
        }
        throw MemoryFault.unmapped(virtual: va)
    }

    /// The output address a descriptor holds, granule-aligned.
    /// - 4K/16K: bits 47:pageShift; with LPA2 also 49:48 in place and 51:50 from bits 9:8
    ///   (without LPA2 those are the shareability field, not address).
    /// - 64K: bits 47:16, and 51:48 from bits 15:12 (LPA; RES0 without it).
    @inline(__always)
    func outputAddress(_ entry: UInt64) -> UInt64 {
        let granuleMask = ~((UInt64(1) << pageShift) - 1)
        if pageShift == 16 {
            return (entry & 0x0000_ffff_ffff_0000) | ((entry >> 12) & 0xf) << 48
        }
        if lpa2 {
            return (entry & 0x0003_ffff_ffff_ffff & granuleMask) | ((entry >> 8) & 3) << 50
        }
        return entry & 0x0000_ffff_ffff_ffff & granuleMask
    }
}
