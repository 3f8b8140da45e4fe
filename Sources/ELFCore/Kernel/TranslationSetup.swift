/// Sets up a dump's address translation from what VMCOREINFO and the kernel's symbols say, one
/// function per architecture; every value used comes out of VMCOREINFO already range-checked.
struct TranslationSetup {
    let physical: PhysicalMemory
    let info: VMCoreInfo
    /// Runtime addresses of the kernel's symbols (vmlinux or kallsyms); nil when not known yet.
    let symbol: (String) -> UInt64?
    let vmcorePath: String
    /// Runtime [_text, _end); empty before the symbols are known (the page tables map the
    /// image too).
    let image: (start: UInt64, end: UInt64)
    let pageSize: UInt64

    /// Runtime address of the top-level table: SYMBOL(swapper_pg_dir) (on x86_64 also
    /// init_top_pgt, the same table), else the kernel's symbol.
    private func rootTableAddress(_ names: [String]) throws -> UInt64 {
        for name in names {
            if let address = info.symbol(name) ?? symbol(name) {
                return address
            }
        }
        throw InputError(file: vmcorePath, reason: "cannot find the kernel page table root (SYMBOL(\(names[0])))")
    }

    /// x86_64: the image at __START_KERNEL_map + phys_base, the direct map at page_offset_base
    /// (a variable since CONFIG_DYNAMIC_MEMORY_LAYOUT, read through the image mapping).
    func x86_64() throws -> KernelTranslation {
        let physBase = info.physBase ?? 0
        let rootVA = try rootTableAddress(["init_top_pgt", "swapper_pg_dir"])
        let directMapSize = physical.ranges.map(\.end).max() ?? 0
        let imageOnly = X86_64Translation(
            imageStart: image.start, imageEnd: image.end, physBase: physBase, pageOffsetBase: 0, directMapSize: 0,
            rootTable: X86_64Translation.imagePhysical(rootVA, physBase: physBase), fiveLevel: info.fiveLevelPaging)
        var pageOffsetBase: UInt64 = imageOnly.fiveLevel ? 0xff11_0000_0000_0000 : 0xffff_8880_0000_0000
        if let at = symbol("page_offset_base") {
            pageOffsetBase = try KernelMemory(physical: physical, translation: .x86_64(imageOnly)).u64(at)
        }
        return .x86_64(X86_64Translation(
            imageStart: image.start, imageEnd: image.end, physBase: physBase, pageOffsetBase: pageOffsetBase,
            directMapSize: directMapSize, rootTable: imageOnly.rootTable, fiveLevel: imageOnly.fiveLevel))
    }

    /// arm64: the image through kimage_voffset; the linear map from PAGE_OFFSET through
    /// PHYS_OFFSET; the rest by walking swapper_pg_dir.
    /// - PAGE_OFFSET is −2^VA_BITS from 5.4 (the linear map is the lower half of the kernel's
    ///   VA space, ending at −2^(min(VA_BITS, 48) − 1)); before 5.4 it was −2^(VA_BITS − 1), the
    ///   upper half.
    /// - The walk resolves 64 − TCR_EL1_T1SZ bits (5.9+ give it): a 52-bit 4K/16K kernel on a
    ///   CPU without LPA2 runs with 48 and one level less. With 64K pages a 52-bit kernel keeps
    ///   its 52-bit tables and offsets TTBR1 instead, so VA_BITS is the walk there.
    func arm64(release: (major: Int, minor: Int)?) throws -> KernelTranslation {
        func missing(_ key: String) -> InputError {
            InputError(file: vmcorePath, reason: "VMCOREINFO has no \(key), which an arm64 dump needs for its address translation")
        }
        guard let vaBits = info.vaBits else { throw missing("NUMBER(VA_BITS)") }
        guard let kimageVoffset = info.kimageVoffset else { throw missing("NUMBER(kimage_voffset)") }
        guard let physOffset = info.physOffset else { throw missing("NUMBER(PHYS_OFFSET)") }
        let pageShift = UInt64(pageSize.trailingZeroBitCount)
        let walkBits = pageShift == 16 ? vaBits : info.tcrEL1T1SZ.map { 64 - $0 } ?? vaBits
        guard ARM64Translation.pageShifts.contains(pageShift), ARM64Translation.walkBitsRange.contains(walkBits),
              walkBits > pageShift + (pageShift - 3) else {
            throw InputError(file: vmcorePath, reason: "VMCOREINFO's arm64 VA size \(walkBits) bits does not fit a \(pageSize)-byte granule")
        }
        let flippedLayout = release.map { $0 >= (5, 4) } ?? true
        let linearStart: UInt64, linearEnd: UInt64
        if flippedLayout {
            linearStart = 0 &- (1 << vaBits)
            linearEnd = 0 &- (1 << (min(vaBits, 48) - 1))
        } else {
            linearStart = 0 &- (1 << (vaBits - 1))
            linearEnd = .max
        }
        let rootVA = try rootTableAddress(["swapper_pg_dir"])
        return .arm64(ARM64Translation(
            imageStart: image.start, imageEnd: image.end, kimageVoffset: kimageVoffset,
            linearStart: linearStart, linearEnd: linearEnd, physOffset: physOffset,
            rootTable: rootVA &- kimageVoffset, pageShift: pageShift, walkBits: walkBits))
    }

    /// What `info` prints about the translation.
    func facts(of translation: KernelTranslation) -> [(name: String, value: String)] {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        switch translation {
        case .x86_64(let t):
            return [("paging", t.fiveLevel ? "5-level" : "4-level"),
                    ("phys_base", hex(t.physBase)),
                    ("page_offset_base", hex(t.pageOffsetBase)),
                    ("page table root", hex(t.rootTable))]
        case .arm64(let t):
            return [("granule", "\(pageSize >> 10)K"),
                    ("VA bits", "\(info.vaBits ?? t.walkBits) (tables walk \(t.walkBits), \(t.levels) levels\(t.lpa2 ? ", LPA2" : ""))"),
                    ("kimage_voffset", hex(t.kimageVoffset)),
                    ("PHYS_OFFSET", hex(t.physOffset)),
                    ("PAGE_OFFSET", hex(t.linearStart)),
                    ("swapper_pg_dir", hex(t.rootTable)),
                    ("KERNELPACMASK", hex(info.kernelPacMask ?? 0))]
        }
    }
}
