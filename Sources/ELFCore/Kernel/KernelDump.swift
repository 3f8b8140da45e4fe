/// A crashed kernel: its dump and its vmlinux, checked to belong together, with address
/// translation set up. The starting point of every walker.
public final class KernelDump: @unchecked Sendable {
    public let vmcorePath: String
    public let vmlinux: VMLinux
    public let physical: PhysicalMemory
    public let info: VMCoreInfo
    public let memory: KernelMemory
    /// KASLR slide of the kernel image (0 when the kernel did not randomize).
    public let kernelOffset: UInt64
    public let release: String
    /// What could not be used as the dump gives it, each a line for the user (the report
    /// goes on with a fallback that the line names).
    public private(set) var warnings: [String]

    public convenience init(vmlinuxPath: String, vmcorePath: String) throws {
        try self.init(vmlinuxPath: vmlinuxPath, vmcorePaths: [vmcorePath])
    }

    /// `vmcorePaths`: one dump, or the parts of a split dump (see SplitDumpFiles). Without
    /// `vmlinuxPath`, the vmlinux is looked for in `debugInfo` by the dump's build ID and release.
    public init(vmlinuxPath: String?, vmcorePaths: [String], debugInfo: DebugInfoLocator = DebugInfoLocator()) throws {
        let vmcorePath = vmcorePaths.first ?? ""
        self.vmcorePath = vmcorePath
        let physical = try SplitDumpFiles.open(paths: vmcorePaths)
        guard let text = physical.vmcoreinfo else {
            throw InputError(file: vmcorePath, reason: "no VMCOREINFO note; a QEMU guest needs `-device vmcoreinfo` for its dumps to be readable")
        }
        let info = try VMCoreInfo(text: text, file: vmcorePath)
        let release = info.osRelease
        if let pageSize = info.pageSize, pageSize != 4096 {
            throw InputError(file: vmcorePath, reason: "page size \(pageSize) is not supported (x86_64 uses 4096)")
        }
        let vmlinuxPath = try vmlinuxPath ?? debugInfo.locate(buildID: BuildID.inVMCoreInfo(text), release: release, dumpPath: vmcorePath)
        let vmlinux = try Self.openVMLinux(vmlinuxPath)
        try Self.checkRelease(vmlinux: vmlinux, dumpRelease: release, vmcorePath: vmcorePath)

        let offset = info.kernelOffset ?? 0
        let physBase = info.physBase ?? 0
        let symbols = vmlinux.symbols
        guard let text = symbols.address(of: "_text") ?? symbols.address(of: "_stext"),
              let end = symbols.address(of: "_end") else {
            throw InputError(file: vmlinuxPath, reason: "no _text/_end symbols: not a kernel vmlinux")
        }
        let rootVA = info.symbol("init_top_pgt") ?? info.symbol("swapper_pg_dir")
            ?? symbols.address(of: "init_top_pgt").map { $0 &+ offset }
        guard let rootVA else {
            throw InputError(file: vmcorePath, reason: "cannot find the kernel page table root (SYMBOL(init_top_pgt))")
        }
        let directMapSize = physical.ranges.map(\.end).max() ?? 0
        var translation = X86_64Translation(
            imageStart: text &+ offset, imageEnd: end &+ offset, physBase: physBase,
            pageOffsetBase: 0, directMapSize: 0,
            rootTable: X86_64Translation.imagePhysical(rootVA, physBase: physBase),
            fiveLevel: info.fiveLevelPaging)
        // page_offset_base is a variable in the image (randomized with CONFIG_RANDOMIZE_MEMORY).
        var pageOffsetBase: UInt64 = translation.fiveLevel ? 0xff11_0000_0000_0000 : 0xffff_8880_0000_0000
        if let at = symbols.address(of: "page_offset_base") {
            pageOffsetBase = try KernelMemory(physical: physical, translation: translation).u64(at &+ offset)
        }
        translation = X86_64Translation(
            imageStart: translation.imageStart, imageEnd: translation.imageEnd, physBase: physBase,
            pageOffsetBase: pageOffsetBase, directMapSize: directMapSize,
            rootTable: translation.rootTable, fiveLevel: translation.fiveLevel)

        self.vmlinux = vmlinux
        self.physical = physical
        self.info = info
        self.kernelOffset = offset
        self.release = release
        self.warnings = info.warnings
        self.memory = KernelMemory(physical: physical, translation: translation)
        warnings += try checkIdentity()
    }

    /// The release's first two numbers ("6.12.117" -> (6, 12)), nil when it does not start
    /// with them. Only for what no type or symbol of the kernel tells.
    public var releaseVersion: (major: Int, minor: Int)? { Self.version(ofRelease: release) }

    public static func version(ofRelease release: String) -> (major: Int, minor: Int)? {
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }

    /// Runtime address of a global: VMCOREINFO's SYMBOL() when it has one, else the vmlinux
    /// symbol table shifted by the KASLR offset.
    public func address(of symbol: String) -> UInt64? {
        if let a = info.symbol(symbol) { return a }
        return vmlinux.symbols.address(of: symbol).map { $0 &+ kernelOffset }
    }

    public func requireAddress(of symbol: String) throws -> UInt64 {
        guard let a = address(of: symbol) else {
            throw InputError(file: vmlinux.path, reason: "symbol \(symbol) not found")
        }
        return a
    }

    /// The vmlinux, decompressed first when it is an .xz; errors name the file the user gave.
    static func openVMLinux(_ path: String) throws -> VMLinux {
        let plain = try CompressedInput.plainPath(for: path, note: DumpFormat.noteToStandardError)
        do {
            return try VMLinux(path: plain)
        } catch let error as InputError where plain != path {
            throw InputError(file: path, reason: error.reason)
        }
    }

    /// The release in vmlinux's linux_banner ("Linux version 6.12.0 (...)") must be the dump's.
    static func checkRelease(vmlinux: VMLinux, dumpRelease: String, vmcorePath: String) throws {
        guard let at = vmlinux.symbols.address(of: "linux_banner"),
              let banner = try? vmlinux.cString(atLinkAddress: at, max: 512) else { return }
        let words = banner.split(separator: " ")
        guard words.count >= 3, words[0] == "Linux", words[1] == "version" else { return }
        let vmlinuxRelease = String(words[2])
        if vmlinuxRelease != dumpRelease {
            throw InputError(file: vmcorePath, reason: "the dump is from Linux \(dumpRelease) but \(vmlinux.path) is Linux \(vmlinuxRelease): use the vmlinux of the crashed kernel")
        }
    }

    /// Same release is not enough: two builds of one release differ. The banner in memory must
    /// equal the vmlinux's (it holds the build host, compiler and build number).
    func checkBanner() throws {
        guard let at = vmlinux.symbols.address(of: "linux_banner"),
              let fromFile = try? vmlinux.cString(atLinkAddress: at, max: 512) else { return }
        guard let inMemory = try? memory.cString(at &+ kernelOffset, max: 512) else {
            throw InputError(file: vmcorePath, reason: "cannot read linux_banner from the dump: the kernel image is not in it or \(vmlinux.path) does not belong to it")
        }
        if inMemory != fromFile {
            throw InputError(file: vmcorePath, reason: "\(vmlinux.path) does not belong to this dump: its banner is \"\(fromFile.trimmed)\" but the dumped kernel's is \"\(inMemory.trimmed)\"")
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
