/// Where the crashed kernel's types and symbols come from.
/// - Types: a BTF file given with `--btf`; else the vmlinux (its DWARF, or the .BTF section of
///   one stripped of it); else, without a vmlinux, the BTF the kernel carries in its own image
///   between `__start_BTF` and `__stop_BTF` (CONFIG_DEBUG_INFO_BTF, on in Debian, Ubuntu,
///   Fedora and RHEL kernels).
/// - Symbols: the vmlinux's .symtab; else the dump's kallsyms, which VMCOREINFO locates (6.0+).
struct KernelSources {
    let types: any KernelTypes
    let symbols: any KernelSymbols
    /// For `info`: where each came from.
    let description: String

    /// `memory` reads the dump through its page tables alone, for the kallsyms and BTF of a
    /// dump without a vmlinux; `notFound` says why no vmlinux was found for it.
    init(vmlinux: VMLinux?, btfPath: String?, notFound: InputError?, info: VMCoreInfo, vmcorePath: String,
         memory: () throws -> KernelMemory) throws {
        let btfFile = try btfPath.map(BTFTypes.init(path:))
        if let vmlinux {
            symbols = VMLinuxSymbols(table: vmlinux.symbols, kernelOffset: info.kernelOffset ?? 0)
            types = btfFile ?? vmlinux.types
            let what = btfFile == nil ? (types is BTFTypes ? "its .BTF section" : "its DWARF") : "the BTF file \(btfPath ?? "")"
            description = "types from \(what), symbols from \(vmlinux.path)"
        } else {
            func missing(_ what: String) -> InputError {
                InputError(file: vmcorePath, reason: "\(notFound?.reason ?? "no vmlinux given"); and \(what)")
            }
            guard let location = Kallsyms.Location(info) else {
                throw missing("VMCOREINFO does not locate the kernel's kallsyms tables (Linux 6.0 and later write them): name the vmlinux")
            }
            let memory = try memory()
            let kallsyms: Kallsyms
            do {
                kallsyms = try Kallsyms(memory: memory, at: location)
            } catch {
                throw missing("the kernel's kallsyms tables in the dump are unreadable (\(error)): name the vmlinux")
            }
            let found = KallsymsSymbols(kallsyms: kallsyms)
            symbols = found
            if let btfFile {
                types = btfFile
                description = "types from the BTF file \(btfPath ?? ""), symbols from the dump's kallsyms (\(kallsyms.count) symbols)"
            } else {
                guard let start = found.address(of: "__start_BTF"), let stop = found.address(of: "__stop_BTF") else {
                    throw missing("the dumped kernel carries no BTF (no __start_BTF in its kallsyms: built without CONFIG_DEBUG_INFO_BTF): name the vmlinux, or give the kernel's BTF with --btf")
                }
                guard stop > start, stop - start <= UInt64(BTFData.maxBytes) else {
                    throw InputError(file: vmcorePath, reason: "the kernel's BTF runs from \(hex(start)) to \(hex(stop)) in its kallsyms, not a BTF's size")
                }
                let bytes: [UInt8]
                do {
                    bytes = try memory.bytes(start, count: Int(stop - start))
                } catch {
                    throw InputError(file: vmcorePath, reason: "the kernel's BTF at \(hex(start)) (\(stop - start) bytes) is not in the dump: \(error)")
                }
                types = BTFTypes(data: try BTFData(bytes: bytes, source: vmcorePath))
                description = "types from the kernel's BTF in the dump (\(stop - start) bytes at \(hex(start))), symbols from the dump's kallsyms (\(kallsyms.count) symbols)"
            }
        }
        if let btf = types as? BTFTypes { btf.globals = KnownGlobals(symbols: symbols, info: info) }
    }
}

private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
