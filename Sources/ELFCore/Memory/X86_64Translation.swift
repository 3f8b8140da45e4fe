/// Kernel virtual → physical address translation for x86_64: the kernel image mapping, the
/// direct map, and a real walk of the kernel's page tables for everything else (vmemmap, vmalloc,
/// modules). 4- and 5-level paging, 2 MiB and 1 GiB pages.
public struct X86_64Translation: Sendable {
    /// `__START_KERNEL_map`: where the kernel image mapping begins.
    public static let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
    static let entryAddressMask: UInt64 = 0x000f_ffff_ffff_f000
    static let present: UInt64 = 1
    static let pageSizeBit: UInt64 = 1 << 7

    /// Runtime (KASLR-applied) range of the kernel image, [_text, _end).
    public let imageStart: UInt64
    public let imageEnd: UInt64
    /// NUMBER(phys_base): the physical address the image was loaded at, minus its link address.
    public let physBase: UInt64
    /// `page_offset_base`: the start of the direct map of all RAM.
    public let pageOffsetBase: UInt64
    /// How much of the address space the direct map covers (the end of the highest RAM range).
    public let directMapSize: UInt64
    /// Physical address of the top-level page table (init_top_pgt).
    public let rootTable: UInt64
    public let fiveLevel: Bool

    public init(imageStart: UInt64, imageEnd: UInt64, physBase: UInt64, pageOffsetBase: UInt64,
                directMapSize: UInt64, rootTable: UInt64, fiveLevel: Bool) {
        self.imageStart = imageStart
        self.imageEnd = imageEnd
        self.physBase = physBase
        self.pageOffsetBase = pageOffsetBase
        self.directMapSize = directMapSize
        self.rootTable = rootTable
        self.fiveLevel = fiveLevel
    }

    /// The image rule alone: kernel text/data VA → PA.
    public static func imagePhysical(_ va: UInt64, physBase: UInt64) -> UInt64 {
        va &- startKernelMap &+ physBase
    }

    /// Physical address of `va`, with how many bytes from there on stay physically contiguous
    /// under the same translation (at least 1).
    public func translate(_ va: UInt64, memory: PhysicalMemory) throws -> (physical: UInt64, contiguous: UInt64) {
        if va >= imageStart, va < imageEnd {
            return (Self.imagePhysical(va, physBase: physBase), imageEnd - va)
        }
        if va >= pageOffsetBase, va &- pageOffsetBase < directMapSize {
            let pa = va &- pageOffsetBase
            return (pa, directMapSize - pa)
        }
        return try walk(va, memory: memory)
    }

    /// Walks the page tables from `rootTable`.
    public func walk(_ va: UInt64, memory: PhysicalMemory) throws -> (physical: UInt64, contiguous: UInt64) {
        // Canonical form: bits above the top level's index must copy its highest bit.
        let topBit: UInt64 = fiveLevel ? 56 : 47
        let upper = va >> topBit
        let ones: UInt64 = (UInt64.max >> topBit)
        guard upper == 0 || upper == ones else { throw MemoryFault.badAddress(virtual: va) }

        var table = rootTable
        let shifts: [UInt64] = fiveLevel ? [48, 39, 30, 21, 12] : [39, 30, 21, 12]
        for (level, shift) in shifts.enumerated() {
            let index = (va >> shift) & 511
            var raw: UInt64 = 0
            try withUnsafeMutableBytes(of: &raw) { try memory.read(physical: table &+ index &* 8, into: $0) }
            let entry = UInt64(littleEndian: raw)
            guard entry & Self.present != 0 else { throw MemoryFault.unmapped(virtual: va) }
            let isLeafLevel = level == shifts.count - 1
            let hugeAllowed = shift == 30 || shift == 21
            if isLeafLevel || (hugeAllowed && entry & Self.pageSizeBit != 0) {
                let pageSize: UInt64 = 1 << shift
                let frame = entry & Self.entryAddressMask & ~(pageSize - 1)
                let within = va & (pageSize - 1)
                return (frame | within, pageSize - within)
            }
            table = entry & Self.entryAddressMask
        }
        throw MemoryFault.unmapped(virtual: va)
    }
}
