/// The arm64 kernel's virtual layout for one boot, from arch/arm64/include/asm/memory.h and
/// pgtable.h of the profile's version (6.1 or 6.12), and the boot's random choices: where the
/// bootloader put the Image in RAM, the KASLR slide of the image (pi/kaslr_early.c) and of the
/// linear map (arm64_memblock_init lowers memstart_addr, which can make PHYS_OFFSET negative).
/// The simulated CPU implements the configured VA size, so vabits_actual == VA_BITS.
struct ARM64Layout {
    /// QEMU virt's RAM base.
    static let ramBase: UInt64 = 0x4000_0000

    let vaBits: UInt64
    let pageOffset: UInt64        // PAGE_OFFSET = -(1 << VA_BITS)
    let pageEnd: UInt64           // _PAGE_END(VA_BITS_MIN)
    let modulesVaddr: UInt64
    let modulesEnd: UInt64        // = KIMAGE_VADDR = VMALLOC_START
    let vmallocStart: UInt64
    let vmallocEnd: UInt64
    let vmemmapStart: UInt64
    let vmemmapEnd: UInt64
    let kaslrOffset: UInt64       // KERNELOFFSET
    let imagePhys: UInt64         // PA of _text
    let physOffset: UInt64        // memstart_addr (s64, two's complement)
    let kimageVoffset: UInt64
    /// `vmemmap`: the struct page of pfn 0 (VMEMMAP_START - (memstart_addr >> PAGE_SHIFT)).
    let vmemmap: UInt64
    /// NUMBER(KERNELPACMASK): GENMASK(63, vabits_actual) when the CPU has pointer auth.
    let pacMask: UInt64

    var kimageVaddr: UInt64 { modulesEnd }
    var tcrT1SZ: UInt64 { 64 - vaBits }

    /// _PAGE_END(va) = -(1 << (va - 1)).
    static func pageEnd(_ va: UInt64) -> UInt64 { 0 &- (UInt64(1) << (va - 1)) }

    /// VA_BITS_MIN: 48 above 48 bits (6.12: 47 with 16K pages).
    static var vaBitsMin: UInt64 {
        let p = Platform.current
        return p.vaBits > 48 ? (KernelProfile.current.version >= 612 && p.pageShift == 14 ? 47 : 48) : p.vaBits
    }

    /// KIMAGE_VADDR = MODULES_END = _PAGE_END(VA_BITS_MIN) + MODULES_VSIZE (6.12: 2 GiB; 6.1:
    /// 128 MiB): where vmlinux is linked (_text; TEXT_OFFSET is gone since 5.8).
    static var kimageVaddr: UInt64 {
        pageEnd(vaBitsMin) &+ (KernelProfile.current.version >= 612 ? 2 << 30 : 128 << 20)
    }

    init(memoryBytes: UInt64, rng: inout SeededRandom) {
        let p = Platform.current
        let new = KernelProfile.current.version >= 612
        vaBits = p.vaBits
        let structPage: UInt64 = 64
        pageOffset = 0 &- (UInt64(1) << vaBits)
        pageEnd = ARM64Layout.pageEnd(ARM64Layout.vaBitsMin)
        modulesVaddr = pageEnd
        modulesEnd = ARM64Layout.kimageVaddr
        vmallocStart = modulesEnd
        let linearSpan = pageEnd &- pageOffset
        if new {
            // VMEMMAP_END = -1G, VMEMMAP_SIZE = (VMEMMAP_RANGE >> PAGE_SHIFT) * sizeof(struct page).
            vmemmapEnd = 0 &- (UInt64(1) << 30)
            vmemmapStart = vmemmapEnd &- (linearSpan >> p.pageShift) * structPage
            vmallocEnd = vmemmapStart &- (8 << 20)
        } else {
            // VMEMMAP_SHIFT = PAGE_SHIFT - STRUCT_PAGE_MAX_SHIFT (6).
            let shift = p.pageShift - 6
            vmemmapStart = 0 &- (UInt64(1) << (vaBits - shift))
            vmemmapEnd = vmemmapStart &+ (linearSpan >> shift)
            vmallocEnd = vmemmapStart &- (256 << 20)
        }

        // The Image: 2 MiB aligned in low RAM. The slide (pi/kaslr_early.c), aligned to
        // MIN_KIMG_ALIGN (2 MiB): 6.12 range/2 + seed·range/2, range being half the span from
        // KIMAGE_VADDR to VMALLOC_END; 6.1 BIT(VA_BITS_MIN - 3) + (seed & GENMASK(VA_BITS_MIN - 3, 0)).
        let twoMiB: UInt64 = 2 << 20
        let top = max(32 << 20, min(memoryBytes / 4, 512 << 20))
        imagePhys = ARM64Layout.ramBase + (8 + rng.below((top - (16 << 20)) / twoMiB)) * twoMiB
        if new {
            let range = (vmallocEnd &- modulesEnd) / 2
            kaslrOffset = (range / 2 + rng.below(range / 2)) & ~(twoMiB - 1)
        } else {
            let vaMin = ARM64Layout.vaBitsMin
            kaslrOffset = ((UInt64(1) << (vaMin - 3)) + rng.below(UInt64(1) << (vaMin - 2))) & ~(twoMiB - 1)
        }
        kimageVoffset = (modulesEnd &+ kaslrOffset) &- imagePhys

        // memstart_addr: RAM's base rounded down to ARM64_MEMSTART_ALIGN, lowered by a random
        // multiple of it when the linear region exceeds the CPU's PA range (a 40-bit CPU here
        // on most seeds; LPA2 CPUs have 52 bits, which leaves no room).
        let memstartAlign: UInt64 = p.pageShift == 16 ? 1 << 29 : 1 << 30
        var memstart = ARM64Layout.ramBase & ~(memstartAlign - 1)
        let endPhys = ARM64Layout.ramBase + memoryBytes
        let paBits: UInt64 = p.isLPA2 ? 52 : (rng.below(4) != 0 && endPhys <= 1 << 40 ? 40 : 48)
        let linearRegion = pageEnd &- pageOffset
        let seed = 1 + rng.below(0xffff)
        if linearRegion > (UInt64(1) << paBits), linearRegion - (UInt64(1) << paBits) >= memstartAlign {
            let slots = (linearRegion - (UInt64(1) << paBits)) / memstartAlign
            memstart = memstart &- memstartAlign &* ((slots &* seed) >> 16)
        }
        physOffset = memstart
        // (memstart_addr >> PAGE_SHIFT) is an arithmetic shift of an s64.
        let memstartPfn = UInt64(bitPattern: Int64(bitPattern: memstart) >> Int64(p.pageShift))
        vmemmap = vmemmapStart &- memstartPfn &* structPage
        pacMask = rng.below(2) == 0 ? ~((UInt64(1) << vaBits) - 1) : 0
    }
}
