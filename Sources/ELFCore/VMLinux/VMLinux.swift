import CLibDW

/// The kernel image with type information: symbols, type layouts (DWARF, or the .BTF section
/// of a vmlinux stripped of its DWARF) and initialized data, all at link-time addresses (add
/// the dump's KASLR offset to compare with runtime addresses).
public final class VMLinux {
    public let path: String
    let file: ELFFile
    /// Where the types come from: the DWARF (libdw's handle), or the .BTF section read when the
    /// file has no DWARF.
    private enum TypeSource {
        case dwarf(OpaquePointer)
        case btf(BTFTypes)
    }
    private let typeSource: TypeSource

    /// Opens the file with libelf and libdw. Throws InputError when it is missing, not ELF,
    /// for another architecture than x86_64 and arm64, has neither DWARF nor BTF, or its BTF
    /// is unreadable where it has no DWARF.
    public init(path: String) throws {
        self.path = path
        self.file = try ELFFile(path: path)
        if let dwarf = file.dwarf {
            typeSource = .dwarf(dwarf)
        } else if let section = file.contents(ofSection: ".BTF") {
            typeSource = .btf(BTFTypes(data: try BTFData(bytes: Array(section), source: path)))
        } else {
            throw InputError(file: path, reason: "no DWARF debug info, and its .BTF section has no contents")
        }
    }

    /// The machine the kernel was built for (ELF e_machine).
    public var architecture: Architecture { file.architecture }

    /// `.symtab`, read on first use.
    public private(set) lazy var symbols = ELFSymbolTable(file: file)

    /// Struct layouts, enumerators, variable types: from the DWARF, else from the .BTF section.
    public private(set) lazy var types: any KernelTypes = {
        switch typeSource {
        case .dwarf(let dwarf): return DebugTypes(file: file, dwarf: dwarf, symbols: symbols)
        case .btf(let btf): return btf
        }
    }()

    /// Bytes of initialized data at a link-time address, from the allocated section holding it
    /// (e.g. `linux_banner` in .rodata). The range must lie within one section that has
    /// contents in the file (.bss has none).
    public func bytes(atLinkAddress address: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0 else { throw InputError(file: path, reason: "negative read length \(count)") }
        let available = try initializedData(at: address, limit: count)
        guard count <= available.count else {
            throw InputError(file: path, reason: "\(count) bytes at \(hex(address)) run past the end of their section")
        }
        return Array(available[0..<count])
    }

    /// A NUL-terminated string at a link-time address, at most `max` bytes, read no further
    /// than the end of its section. Invalid UTF-8 is repaired, not rejected.
    public func cString(atLinkAddress address: UInt64, max: Int = 512) throws -> String {
        let limited = try initializedData(at: address, limit: Swift.max(0, max))
        let end = limited.firstIndex(of: 0) ?? limited.endIndex
        return String(decoding: limited[limited.startIndex..<end], as: UTF8.self)
    }

    /// Up to `limit` file bytes from `address`, stopping at the end of the allocated section
    /// that holds it.
    private func initializedData(at address: UInt64, limit: Int) throws -> ArraySlice<UInt8> {
        var result: ArraySlice<UInt8>?
        var failure = "no section holds link address \(hex(address))"
        file.forEachSection { section, header in
            guard header.sh_flags & UInt64(SHF_ALLOC) != 0, address >= header.sh_addr,
                  address &- header.sh_addr < header.sh_size else { return true }
            guard header.sh_type != UInt32(SHT_NOBITS), let contents = file.contents(of: section),
                  UInt64(contents.count) >= header.sh_size else {
                failure = "link address \(hex(address)) is in a section without file contents (e.g. .bss)"
                return false
            }
            let from = Int(address &- header.sh_addr)
            let to = from + Swift.min(Int(header.sh_size) - from, limit)
            result = ArraySlice(contents[from..<to])
            return false
        }
        guard let result else { throw InputError(file: path, reason: failure) }
        return result
    }

    private func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
