import Foundation

/// CONFIG_DEBUG_INFO_BTF (`--btf`): the kernel carries the BTF of its own types in read-only
/// data, between __start_BTF and __stop_BTF, where /sys/kernel/btf/vmlinux reads it. As
/// scripts/link-vmlinux.sh does (5.x to 6.12): a first link, `pahole -J` on its DWARF, then a
/// second link with the BTF blob as the input section `.BTF`. The types do not depend on the
/// addresses, so the BTF of the first link describes the second.
enum KernelBTF {
    /// The raw BTF file pahole writes, and the assembly that puts it in a `.BTF` section.
    static let blobFile = "vmlinux.btf"
    static let sourceFile = "btf.S"
    static let objectFile = "btf.o"

    /// The output section of include/asm-generic/vmlinux.lds.h's BTF macro, at the end of
    /// RO_DATA (after the notes, before __end_rodata).
    static func linkerSection(load: String) -> String {
        return """
          .BTF : \(load){
            __start_BTF = .;
            KEEP(*(.BTF))
            __stop_BTF = .;
            __end_rodata = .;
          }

        """
    }

    /// The blob as an allocated, read-only input section. No `-g`: the DWARF stays that of
    /// the first link.
    static func assembly() -> String {
        let progbits = Platform.current.isARM64 ? "%progbits" : "@progbits"
        return "\t.section .BTF,\"a\"\n\t.incbin \"\(blobFile)\"\n\t.section .note.GNU-stack,\"\",\(progbits)\n"
    }

    /// Encodes the BTF of `vmlinux` (in `workDir`) and assembles it into `btf.o`.
    static func buildObject(vmlinux: String, workDir: URL, gcc: String, flags: [String]) throws {
        guard let pahole = executableInPath("pahole") else {
            throw ImageBuilder.BuildError(description: "--btf needs pahole to encode the kernel's BTF; install the Debian package dwarves (scripts/install-deps.sh)")
        }
        try ImageBuilder.run(pahole, ["--btf_encode_detached=\(blobFile)", vmlinux], in: workDir)
        try assembly().write(to: workDir.appendingPathComponent(sourceFile), atomically: true, encoding: .utf8)
        try ImageBuilder.run(gcc, flags.filter { !$0.hasPrefix("-g") } + ["-c", "-o", objectFile, sourceFile], in: workDir)
    }

    static func executableInPath(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
