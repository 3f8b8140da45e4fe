/// What the VMCOREINFO note would have said, for a dump that has none (a QEMU guest started
/// without `-device vmcoreinfo`, or one whose fw_cfg never came up), found in the dumped
/// memory with the help of the vmlinux:
///
/// 1. The kernel image: `linux_banner` ("Linux version ..."), read from the vmlinux, is looked
///    for where the image would put it if `_text` were loaded at each 2 MiB boundary of RAM
///    (x86_64 CONFIG_PHYSICAL_ALIGN, arm64's image alignment), then at each page boundary.
/// 2. The KASLR offset: `init_mm.pgd` holds the run-time address of swapper_pg_dir, so its
///    value minus the link-time address is the slide; `init_task.stack`, which holds
///    `init_stack` for good (its active_mm does not: the idle task borrows other mms), must
///    agree.
/// 3. The note itself: the kernel builds its text at boot in `vmcoreinfo_data` (a page of the
///    direct map, `vmcoreinfo_size` bytes); it is read from there when the pointer leads to
///    text that starts as a note does. Without it an x86_64 dump still gets the few lines the
///    image mapping needs (OSRELEASE from the banner, KERNELOFFSET, phys_base, the root table).
///
/// Every value comes from the untrusted dump; the recovered text goes through VMCoreInfo's
/// checks like any note.
struct VMCoreInfoRecovery {
    let physical: PhysicalMemory
    let vmlinux: VMLinux
    let vmcorePath: String

    /// The recovered text and, for `info`, how each part was found.
    struct Result {
        let text: String
        let how: [String]
    }

    /// Bytes of the banner compared at each candidate (enough to name the build).
    static let bannerBytes = 64
    static let maxCandidatePages = 1 << 26

    func recover(architecture: Architecture) throws -> Result {
        let symbols = vmlinux.symbols
        guard let textLink = symbols.address(of: "_text") ?? symbols.address(of: "_stext"),
              let bannerLink = symbols.address(of: "linux_banner"),
              let banner = try? vmlinux.bytes(atLinkAddress: bannerLink, count: Self.bannerBytes),
              bannerLink >= textLink else {
            throw missing("the vmlinux has no linux_banner to find the kernel by")
        }
        guard let textPA = findImage(bannerOffset: bannerLink - textLink, banner: banner) else {
            throw missing("the kernel's linux_banner (\"\(String(decoding: banner.prefix(40), as: UTF8.self))...\") is nowhere in its memory: the dump does not hold this vmlinux's kernel")
        }
        func imagePA(_ link: UInt64) -> UInt64 { textPA &+ (link &- textLink) }
        func u64(atLink link: UInt64) throws -> UInt64 {
            var raw: UInt64 = 0
            try withUnsafeMutableBytes(of: &raw) { try physical.read(physical: imagePA(link), into: $0) }
            return UInt64(littleEndian: raw)
        }

        // The slide, from init_mm.pgd, checked by init_task.active_mm.
        let types = vmlinux.types
        let rootName = architecture == .x86_64 && symbols.address(of: "init_top_pgt") != nil ? "init_top_pgt" : "swapper_pg_dir"
        guard let initMM = symbols.address(of: "init_mm"), let rootLink = symbols.address(of: rootName) else {
            throw missing("the vmlinux has no init_mm or \(rootName)")
        }
        let pgd = try types.structType("mm_struct", near: "init_mm").member("pgd").offset
        let offset = try u64(atLink: initMM &+ UInt64(pgd)) &- rootLink
        var how = ["kernel image found by its linux_banner: _text at physical 0x\(String(textPA, radix: 16))",
                   "KASLR offset 0x\(String(offset, radix: 16)) from init_mm.pgd"]
        guard offset & 0xfff == 0 else { throw missing("init_mm.pgd does not point at \(rootName) (offset 0x\(String(offset, radix: 16)))") }
        if let initTask = symbols.address(of: "init_task"), let initStack = symbols.address(of: "init_stack"),
           let stack = try? types.structType("task_struct", near: "init_task").member("stack").offset {
            let value = try u64(atLink: initTask &+ UInt64(stack))
            guard value == initStack &+ offset else {
                throw missing("init_task.stack (0x\(String(value, radix: 16))) disagrees with the KASLR offset 0x\(String(offset, radix: 16)) found from init_mm.pgd")
            }
            how[1] += ", confirmed by init_task.stack"
        }

        if let note = try? boottimeNote(architecture: architecture, textLink: textLink, textPA: textPA, offset: offset, read: u64(atLink:)) {
            how.append("VMCOREINFO read from the kernel's vmcoreinfo_data at physical 0x\(String(note.at, radix: 16))")
            return Result(text: note.text, how: how)
        }
        guard architecture == .x86_64 else {
            throw missing("the kernel's own copy (vmcoreinfo_data) cannot be read, and an arm64 dump needs its VA_BITS and PHYS_OFFSET")
        }
        // OSRELEASE holds at most 64 bytes (utsname).
        let release = KernelDump.release(inBanner: String(decoding: banner, as: UTF8.self)).map { String($0.prefix(64)) } ?? "unknown"
        let physBase = textPA &- (textLink &+ offset &- X86_64Translation.startKernelMap)
        how.append("VMCOREINFO rebuilt from the image: the kernel's vmcoreinfo_data cannot be read")
        let text = """
            OSRELEASE=\(release)
            PAGESIZE=4096
            KERNELOFFSET=\(String(offset, radix: 16))
            NUMBER(phys_base)=\(Int64(bitPattern: physBase))
            SYMBOL(\(rootName))=\(String(rootLink &+ offset, radix: 16))

            """
        return Result(text: text, how: how)
    }

    /// Physical address of `_text`: the first load address, 2 MiB-aligned candidates first,
    /// at which the banner's bytes stand where the image puts them.
    private func findImage(bannerOffset: UInt64, banner: [UInt8]) -> UInt64? {
        var buffer = [UInt8](repeating: 0, count: banner.count)
        var tried = 0
        for alignment: UInt64 in [2 << 20, 4096] {
            for range in physical.ranges {
                var base = (range.start &+ alignment &- 1) & ~(alignment &- 1)
                while base < range.end, tried < Self.maxCandidatePages {
                    tried += 1
                    let at = base &+ bannerOffset
                    let matches = (try? buffer.withUnsafeMutableBytes { try physical.read(physical: at, into: $0) }) != nil
                        && buffer == banner
                    if matches { return base }
                    let (next, overflow) = base.addingReportingOverflow(alignment)
                    if overflow { break }
                    base = next
                }
            }
        }
        return nil
    }

    /// The note text the kernel keeps in `vmcoreinfo_data`, and where it was.
    private func boottimeNote(architecture: Architecture, textLink: UInt64, textPA: UInt64, offset: UInt64,
                              read: (UInt64) throws -> UInt64) throws -> (text: String, at: UInt64)? {
        let symbols = vmlinux.symbols
        guard let dataLink = symbols.address(of: "vmcoreinfo_data"), let sizeLink = symbols.address(of: "vmcoreinfo_size") else { return nil }
        let pointer = try read(dataLink)
        let size = Int(truncatingIfNeeded: try read(sizeLink) & 0xffff_ffff)   // size_t or u32: the low half
        guard size > 10, size <= 1 << 16 else { return nil }
        for pa in try directMapCandidates(pointer, architecture: architecture, textLink: textLink, textPA: textPA, offset: offset, read: read) {
            var bytes = [UInt8](repeating: 0, count: size)
            guard (try? bytes.withUnsafeMutableBytes({ try physical.read(physical: pa, into: $0) })) != nil,
                  bytes.starts(with: Array("OSRELEASE=".utf8)) else { continue }
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return (String(decoding: bytes[..<end], as: UTF8.self), pa)
        }
        return nil
    }

    /// Where a direct-map (x86_64) or linear-map (arm64) pointer may lead. x86_64 reads
    /// page_offset_base (CONFIG_DYNAMIC_MEMORY_LAYOUT; the 4-level default without it). arm64
    /// reads memstart_addr (PHYS_OFFSET); PAGE_OFFSET = −2^VA_BITS depends on VA_BITS, which
    /// only the note says, so each size arm64 offers is tried.
    private func directMapCandidates(_ pointer: UInt64, architecture: Architecture, textLink: UInt64, textPA: UInt64,
                                     offset: UInt64, read: (UInt64) throws -> UInt64) throws -> [UInt64] {
        let symbols = vmlinux.symbols
        switch architecture {
        case .x86_64:
            var base: UInt64 = 0xffff_8880_0000_0000
            if let at = symbols.address(of: "page_offset_base") { base = try read(at) }
            return [pointer &- base]
        case .arm64:
            guard let at = symbols.address(of: "memstart_addr") else { return [] }
            let physOffset = try read(at)
            return [48, 52, 47, 42, 39, 36].map { (bits: UInt64) in (pointer &- (0 &- (1 << bits))) &+ physOffset }
        }
    }

    private func missing(_ why: String) -> InputError {
        InputError(file: vmcorePath, reason: "no VMCOREINFO note, and it cannot be recovered: \(why)")
    }
}
