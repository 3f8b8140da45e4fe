/// A crashed kernel: its dump and the kernel's types and symbols, checked to belong together,
/// with address translation set up. The starting point of every walker.
/// The types come from the vmlinux DWARF, the .BTF of a stripped vmlinux, a BTF file, or,
/// without any vmlinux, the BTF the kernel carries in its image; the symbols from the vmlinux
/// or the dump's kallsyms (see KernelSources).
public final class KernelDump: @unchecked Sendable {
    public let vmcorePath: String
    /// nil when the dump is read without one.
    public let vmlinux: VMLinux?
    public let types: any KernelTypes
    public let symbols: any KernelSymbols
    public let physical: PhysicalMemory
    public let info: VMCoreInfo
    public let memory: KernelMemory
    /// KASLR slide of the kernel image (0 when the kernel did not randomize).
    public let kernelOffset: UInt64
    public let release: String
    /// What could not be used as the dump gives it, each a line for the user (the report
    /// goes on with a fallback that the line names).
    public private(set) var warnings: [String]

    /// The machine the dump is of; its vmlinux is for the same one.
    public let architecture: Architecture
    /// PAGESIZE and its log2 (12 on x86_64; 12, 14 or 16 on arm64).
    public let pageSize: UInt64
    public let pageShift: UInt64
    /// The constants the translation was set up with, as `info` shows them.
    public let translationFacts: [(name: String, value: String)]
    /// How the VMCOREINFO text was recovered from memory when the dump had no note (each a
    /// line for `info`); nil when the note was there.
    public let vmcoreinfoRecovery: [String]?
    /// Where the types and symbols came from, a line for `info`.
    public let kernelSources: String
    /// arm64 NUMBER(KERNELPACMASK): pointer-authentication bits a return address may carry.
    let pacMask: UInt64

    public convenience init(vmlinuxPath: String, vmcorePath: String) throws {
        try self.init(vmlinuxPath: vmlinuxPath, vmcorePaths: [vmcorePath])
    }

    /// `vmcorePaths`: one dump, or the parts of a split dump (see SplitDumpFiles). Without
    /// `vmlinuxPath`, the vmlinux is looked for in `debugInfo` by the dump's build ID and
    /// release, and when none is there the dump is read alone (kallsyms and BTF in its memory).
    /// `btfPath`: a raw BTF file whose types replace the vmlinux's.
    public init(vmlinuxPath: String?, vmcorePaths: [String], debugInfo: DebugInfoLocator = DebugInfoLocator(),
                btfPath: String? = nil) throws {
        let vmcorePath = vmcorePaths.first ?? ""
        self.vmcorePath = vmcorePath
        let physical = try SplitDumpFiles.open(paths: vmcorePaths)
        let architecture = physical.architecture
        var vmlinux: VMLinux?
        var notFound: InputError?
        if let vmlinuxPath {
            vmlinux = try Self.openVMLinux(vmlinuxPath)
        } else {
            do {
                vmlinux = try Self.openVMLinux(debugInfo.locate(vmcoreinfo: physical.vmcoreinfo, dumpPath: vmcorePath))
            } catch let error as InputError where physical.vmcoreinfo != nil {
                notFound = error
            }
        }
        if let vmlinux, vmlinux.architecture != architecture {
            throw InputError(file: vmcorePath, reason: "the dump is of an \(architecture.rawValue) machine but \(vmlinux.path) is an \(vmlinux.architecture.rawValue) kernel: use the vmlinux of the crashed kernel")
        }
        var text = physical.vmcoreinfo
        if text == nil, let vmlinux {
            let recovered = try VMCoreInfoRecovery(physical: physical, vmlinux: vmlinux, vmcorePath: vmcorePath)
                .recover(architecture: architecture)
            text = recovered.text
            vmcoreinfoRecovery = recovered.how
        } else {
            vmcoreinfoRecovery = nil
        }
        let info = try VMCoreInfo(text: text ?? "", file: vmcorePath)
        let release = info.osRelease
        let pageSize = info.pageSize ?? architecture.pageSizes[0]
        guard architecture.pageSizes.contains(pageSize) else {
            let sizes = architecture.pageSizes.map(String.init).joined(separator: ", ")
            throw InputError(file: vmcorePath, reason: "VMCOREINFO PAGESIZE=\(pageSize) is not a page size of \(architecture.rawValue) (\(sizes))")
        }
        if let vmlinux { try Self.checkRelease(vmlinux: vmlinux, dumpRelease: release, vmcorePath: vmcorePath) }

        let offset = info.kernelOffset ?? 0
        func setup(_ symbol: @escaping (String) -> UInt64?, image: (UInt64, UInt64)) -> TranslationSetup {
            TranslationSetup(physical: physical, info: info, symbol: symbol, vmcorePath: vmcorePath,
                             image: image, pageSize: pageSize)
        }
        func translation(_ setup: TranslationSetup) throws -> KernelTranslation {
            switch architecture {
            case .x86_64: return try setup.x86_64()
            case .arm64: return try setup.arm64(release: Self.version(ofRelease: release))
            }
        }
        let sources = try KernelSources(vmlinux: vmlinux, btfPath: btfPath, notFound: notFound, info: info,
                                        vmcorePath: vmcorePath) {
            KernelMemory(physical: physical, translation: try translation(setup({ _ in nil }, image: (0, 0))))
        }
        let symbols = sources.symbols
        guard let start = symbols.address(of: "_text") ?? symbols.address(of: "_stext"),
              let end = symbols.address(of: "_end") else {
            throw InputError(file: vmlinux?.path ?? vmcorePath, reason: "no _text/_end symbols: not a kernel")
        }
        let final = setup(symbols.address(of:), image: (start, end))
        let kernelTranslation = try translation(final)

        self.vmlinux = vmlinux
        self.types = sources.types
        self.symbols = symbols
        self.kernelSources = sources.description
        self.physical = physical
        self.info = info
        self.kernelOffset = offset
        self.release = release
        self.architecture = architecture
        self.pageSize = pageSize
        self.pageShift = UInt64(pageSize.trailingZeroBitCount)
        self.translationFacts = final.facts(of: kernelTranslation)
        self.pacMask = architecture == .arm64 ? info.kernelPacMask ?? 0 : 0
        self.warnings = info.warnings
        self.memory = KernelMemory(physical: physical, translation: kernelTranslation)
        warnings += try checkIdentity()
    }

    /// The file the kernel's types and symbols came from (the vmlinux, else the dump), for
    /// messages about them.
    public var kernelFile: String { vmlinux?.path ?? types.source }

    /// A code address as the kernel prints it: on arm64 with pointer authentication, a return
    /// address may carry PAC bits in its upper bits; %pS shows it with them stripped.
    @inline(__always)
    public func codeAddress(_ address: UInt64) -> UInt64 {
        pacMask != 0 && address & (1 << 55) != 0 ? address | pacMask : address
    }

    /// The release's first two numbers ("6.12.117" -> (6, 12)), nil when it does not start
    /// with them. Only for what no type or symbol of the kernel tells.
    public var releaseVersion: (major: Int, minor: Int)? { Self.version(ofRelease: release) }

    public static func version(ofRelease release: String) -> (major: Int, minor: Int)? {
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }

    /// Runtime address of a global: VMCOREINFO's SYMBOL() when it has one, else the kernel's
    /// symbols (the vmlinux's shifted by the KASLR offset, or kallsyms).
    public func address(of symbol: String) -> UInt64? {
        if let a = info.symbol(symbol) { return a }
        return symbols.address(of: symbol)
    }

    public func requireAddress(of symbol: String) throws -> UInt64 {
        guard let a = address(of: symbol) else {
            throw InputError(file: kernelFile, reason: "symbol \(symbol) not found")
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

    /// "Linux version RELEASE (...": the release a linux_banner names.
    static func release(inBanner banner: String) -> String? {
        let words = banner.split(separator: " ")
        guard words.count >= 3, words[0] == "Linux", words[1] == "version" else { return nil }
        return String(words[2])
    }

    /// The release in vmlinux's linux_banner ("Linux version 6.12.0 (...)") must be the dump's.
    static func checkRelease(vmlinux: VMLinux, dumpRelease: String, vmcorePath: String) throws {
        guard let at = vmlinux.symbols.address(of: "linux_banner"),
              let banner = try? vmlinux.cString(atLinkAddress: at, max: 512) else { return }
        guard let vmlinuxRelease = release(inBanner: banner) else { return }
        if vmlinuxRelease != dumpRelease {
            throw InputError(file: vmcorePath, reason: "the dump is from Linux \(dumpRelease) but \(vmlinux.path) is Linux \(vmlinuxRelease): use the vmlinux of the crashed kernel")
        }
    }

    /// Same release is not enough: two builds of one release differ. The banner in memory must
    /// equal the vmlinux's (it holds the build host, compiler and build number).
    func checkBanner() throws {
        guard let vmlinux, let at = vmlinux.symbols.address(of: "linux_banner"),
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
