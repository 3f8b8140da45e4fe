import CLibDW
import Glibc

/// Owns the open vmlinux: file descriptor, libelf handle and libdw handle, closed together.
/// Everything that keeps a `Dwarf_Die` (DebugTypes, TypeLayout) keeps this object alive,
/// because a DIE points into libdw's memory.
final class ELFFile {
    let path: String
    let fd: Int32
    let elf: OpaquePointer
    /// nil for a vmlinux stripped of its DWARF that keeps its .BTF section.
    let dwarf: OpaquePointer?
    let architecture: Architecture

    /// Opens `path` and checks, in order, that it exists, is ELF, is for a supported
    /// architecture and has DWARF or, stripped of it, BTF.
    init(path: String) throws {
        self.path = path
        func fail(_ reason: String) -> InputError { InputError(file: path, reason: reason) }

        var info = stat()
        guard stat(path, &info) == 0 else {
            throw fail("cannot open: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open: \(String(cString: strerror(errno)))") }

        _ = elf_version(UInt32(EV_CURRENT))
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            close(fd)
            throw fail("cannot read as ELF: \(String(cString: elf_errmsg(-1)))")
        }
        func failClosing(_ reason: String) -> InputError {
            elf_end(elf)
            close(fd)
            return fail(reason)
        }
        guard elf_kind(elf) == ELF_K_ELF else { throw failClosing("not an ELF file (expected the vmlinux of the crashed kernel)") }
        var header = GElf_Ehdr()
        guard gelf_getehdr(elf, &header) != nil else { throw failClosing("unreadable ELF header") }
        guard gelf_getclass(elf) == ELFCLASS64, let architecture = Architecture(elfMachine: header.e_machine) else {
            throw failClosing("not a 64-bit \(Architecture.supportedNames) ELF file (e_machine \(header.e_machine))")
        }
        let dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nil)
        if dwarf == nil, !Self.hasBTF(elf) {
            let libdwSays = String(cString: dwarf_errmsg(-1))
            if let compressed = Self.debugInfoCompression(elf) {
                throw failClosing("its DWARF debug info is unreadable (\(compressed)): \(libdwSays); decompress it with `objcopy --decompress-debug-sections`")
            }
            throw failClosing("no DWARF debug info and no .BTF section (build the kernel with CONFIG_DEBUG_INFO or CONFIG_DEBUG_INFO_BTF, or use the unstripped vmlinux): \(libdwSays)")
        }
        self.fd = fd
        self.elf = elf
        self.dwarf = dwarf
        self.architecture = architecture
    }

    private static func hasBTF(_ elf: OpaquePointer) -> Bool {
        section(named: ".BTF", in: elf) != nil
    }

    static func section(named wanted: String, in elf: OpaquePointer) -> OpaquePointer? {
        var stringsIndex = 0
        guard elf_getshdrstrndx(elf, &stringsIndex) == 0 else { return nil }
        var section = elf_nextscn(elf, nil)
        while let current = section {
            var header = GElf_Shdr()
            if gelf_getshdr(current, &header) != nil, let cName = elf_strptr(elf, stringsIndex, Int(header.sh_name)),
               String(cString: cName) == wanted {
                return current
            }
            section = elf_nextscn(elf, current)
        }
        return nil
    }

    /// The bytes of the section named `name`, nil when there is none or it has no contents.
    func contents(ofSection name: String) -> UnsafeRawBufferPointer? {
        Self.section(named: name, in: elf).flatMap(contents(of:))
    }

    /// How .debug_info is compressed, when it is present but compressed; nil otherwise.
    private static func debugInfoCompression(_ elf: OpaquePointer) -> String? {
        if section(named: ".zdebug_info", in: elf) != nil { return "GNU .zdebug compression" }
        var header = GElf_Shdr()
        guard let info = section(named: ".debug_info", in: elf), gelf_getshdr(info, &header) != nil,
              header.sh_flags & UInt64(SHF_COMPRESSED) != 0 else { return nil }
        var chdr = GElf_Chdr()
        let type = gelf_getchdr(info, &chdr) != nil ? chdr.ch_type : 0
        return type == 2 ? "compressed with zstd, which this libdw cannot read" : "compressed, type \(type)"
    }

    deinit {
        if let dwarf { dwarf_end(dwarf) }
        elf_end(elf)
        close(fd)
    }

    /// Calls `body` with each section and its header, stopping early when it returns false.
    func forEachSection(_ body: (OpaquePointer, GElf_Shdr) -> Bool) {
        var section = elf_nextscn(elf, nil)
        while let current = section {
            var header = GElf_Shdr()
            if gelf_getshdr(current, &header) != nil, !body(current, header) { return }
            section = elf_nextscn(elf, current)
        }
    }

    /// The raw contents of a section, or nil when it has none in the file (SHT_NOBITS) or
    /// libelf cannot provide them.
    func contents(of section: OpaquePointer) -> UnsafeRawBufferPointer? {
        guard let data = elf_rawdata(section, nil), let base = data.pointee.d_buf else { return nil }
        return UnsafeRawBufferPointer(start: base, count: data.pointee.d_size)
    }
}
