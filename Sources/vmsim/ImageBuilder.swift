import Foundation

/// Writes the C, assembly and linker-script sources of the simulated kernel, builds them with
/// gcc into an x86_64 ELF linked at the kernel's addresses, and returns the parsed image.
enum ImageBuilder {
    /// Where _text is linked: x86_64's __START_KERNEL, arm64's KIMAGE_VADDR.
    static var textLinkAddress: UInt64 {
        Platform.current.isARM64 ? ARM64Layout.kimageVaddr : 0xffff_ffff_8100_0000
    }
    static let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
    /// The cross compiler for arm64 (Debian's gcc-aarch64-linux-gnu), the host gcc for x86_64.
    static var gcc: String { Platform.current.isARM64 ? "aarch64-linux-gnu-gcc" : "gcc" }

    struct BuildError: Error, CustomStringConvertible {
        let description: String
    }

    /// The image's sections and symbols. x86_64: linked at __START_KERNEL with load addresses
    /// below __START_KERNEL_map, 4K-aligned. arm64: linked at KIMAGE_VADDR with load addresses
    /// equal to the virtual ones (as arch/arm64/kernel/vmlinux.lds.S leaves them), aligned to
    /// SEGMENT_ALIGN (64K). With `btf`, the `.BTF` section ends the read-only data.
    static func linkerScript(btf: Bool = false) -> String {
        // CODETAG_SECTIONS of include/asm-generic/vmlinux.lds.h: the tags inside .data.
        let codetags = KernelProfile.current.allocProfiling
            ? "    . = ALIGN(8);\n    __start_alloc_tags = .;\n    KEEP(*(alloc_tags))\n    __stop_alloc_tags = .;\n" : ""
        let arm = Platform.current.isARM64
        let align = arm ? "0x10000" : "0x1000"
        func load(_ section: String) -> String { arm ? "" : "AT(ADDR(\(section)) - 0x\(String(startKernelMap, radix: 16))) " }
        // With BTF, read-only data ends after .BTF instead of the notes.
        let endRodataInNotes = btf ? "" : "    __end_rodata = .;\n"
        let btfSection = btf ? KernelBTF.linkerSection(load: load(".BTF")) : ""
        return """
        OUTPUT_FORMAT("\(arm ? "elf64-littleaarch64" : "elf64-x86-64")")
        OUTPUT_ARCH(\(arm ? "aarch64" : "i386:x86-64"))
        ENTRY(\(arm ? "_text" : "startup_64"))
        SECTIONS
        {
          . = 0x\(String(textLinkAddress, radix: 16));
          _text = .;
          .text : \(load(".text")){
            _stext = .;
            *(.head.text)
            *(.text .text.*)
            _etext = .;
          }
          . = ALIGN(\(align));
          .rodata : \(load(".rodata")){
            __start_rodata = .;
            *(.rodata .rodata.*)
          }
          .notes : \(load(".notes")){
            __start_notes = .;
            *(.note.gnu.build-id)
            __stop_notes = .;
        \(endRodataInNotes)  }
        \(btfSection)  . = ALIGN(\(align));
          .data : \(load(".data")){
            _sdata = .;
            *(.data .data.*)
        \(codetags)    _edata = .;
          }
          . = ALIGN(\(align));
          .bss : \(load(".bss")){
            __bss_start = .;
            *(.bss .bss.* COMMON)
            . = ALIGN(\(align));
            __bss_stop = .;
          }
          _end = .;
          /DISCARD/ : { *(.note.GNU-stack) *(.eh_frame) *(.comment) }
        }
        """
    }

    /// Function bodies: filler of the ELF size (x86 int3; arm64 `brk #0`, 4-byte instructions),
    /// padded to 16 bytes, each preceded by a 16-byte `__pfx_` symbol when the function has
    /// call padding (x86 only).
    static func assembly() -> String {
        let arm = Platform.current.isARM64
        let function = arm ? "%function" : "@function"
        func fill(_ bytes: Int) -> String { arm ? "\t.fill \(bytes / 4), 4, 0xd4200000\n" : "\t.fill \(bytes), 1, 0xcc\n" }
        var s = "\t.section .head.text,\"ax\"\n"
        var first = true
        for f in FunctionCatalog.functions {
            if first {
                first = false
            } else if f.name == "start_kernel" {
                s += "\t.text\n"
            }
            s += arm ? "\t.p2align 4\n" : "\t.p2align 4, 0xcc\n"
            if f.hasPrefix {
                let pfx = "__pfx_" + f.name
                s += f.isLocal ? "" : "\t.globl \(pfx)\n"
                s += "\t.type \(pfx), @function\n\(pfx):\n\t.fill 16, 1, 0x90\n\t.size \(pfx), 16\n"
            }
            s += f.isLocal ? "" : "\t.globl \(f.name)\n"
            s += "\t.type \(f.name), \(function)\n\(f.name):\n"
            var at = 0
            for (label, offset) in f.innerLabels {
                s += fill(offset - at) + "\t.globl \(label)\n\(label):\n"
                at = offset
            }
            s += fill(f.size - at) + "\t.size \(f.name), \(f.size)\n"
        }
        s += "\t.section .note.GNU-stack,\"\",\(arm ? "%progbits" : "@progbits")\n"
        return s
    }

    static func cSource() -> String {
        return KernelDeclarations.types + "\n" + KernelDeclarations.globals
    }

    static func compilerFlags() -> [String] {
        if Platform.current.isARM64 {
            return ["-g", "-gdwarf-5", "-O0", "-fno-pic", "-fno-pie", "-no-pie", "-mcmodel=small",
                    "-mgeneral-regs-only", "-ffreestanding", "-fno-common", "-nostdlib", "-static",
                    "-fno-asynchronous-unwind-tables", "-fno-eliminate-unused-debug-types",
                    "-fno-stack-protector"]
        }
        return ["-g", "-gdwarf-5", "-O0", "-fno-pic", "-fno-pie", "-no-pie", "-mcmodel=kernel",
                "-ffreestanding", "-fno-common", "-nostdlib", "-static",
                "-fno-asynchronous-unwind-tables", "-fno-eliminate-unused-debug-types",
                "-fno-stack-protector"]
    }

    /// Builds vmlinux in `workDir` and returns its bytes; with `btf`, links twice to put the
    /// image's own BTF in it (KernelBTF).
    static func build(workDir: URL, btf: Bool = false) throws -> [UInt8] {
        let fm = FileManager.default
        try fm.createDirectory(at: workDir, withIntermediateDirectories: true)
        try cSource().write(to: workDir.appendingPathComponent("kernel.c"), atomically: true, encoding: .utf8)
        try assembly().write(to: workDir.appendingPathComponent("entry.S"), atomically: true, encoding: .utf8)
        try linkerScript(btf: btf).write(to: workDir.appendingPathComponent("vmlinux.lds"), atomically: true, encoding: .utf8)
        // Compile each file to a named object first so the symbol table names no temp files.
        let prefixMap = "-ffile-prefix-map=\(workDir.path)=."
        try run(gcc, compilerFlags() + [prefixMap, "-c", "-o", "kernel.o", "kernel.c"], in: workDir)
        try run(gcc, compilerFlags() + [prefixMap, "-c", "-o", "entry.o", "entry.S"], in: workDir)
        func link(_ objects: [String]) throws {
            try run(gcc, compilerFlags() + [
                "-Wl,-T,vmlinux.lds", "-Wl,--emit-relocs", "-Wl,--build-id=sha1",
                "-Wl,-z,max-page-size=\(Platform.current.isARM64 ? "0x10000" : "0x1000")", "-Wl,--no-warn-rwx-segments",
                "-o", "vmlinux"] + objects, in: workDir)
        }
        try link(["kernel.o", "entry.o"])
        if btf {
            try KernelBTF.buildObject(vmlinux: "vmlinux", workDir: workDir, gcc: gcc, flags: compilerFlags())
            try link(["kernel.o", "entry.o", KernelBTF.objectFile])
        }
        return [UInt8](try Data(contentsOf: workDir.appendingPathComponent("vmlinux")))
    }

    /// Compiles the type declarations with a main() that prints sizes and offsets, and runs it.
    static func probeLayouts(workDir: URL, queries: [(key: String, expr: String)]) throws -> [String: Int] {
        if Platform.current.isARM64 { return try probeCrossLayouts(workDir: workDir, queries: queries) }
        var src = KernelDeclarations.types + "\n"
        src += "#define offsetof(T, m) __builtin_offsetof(T, m)\nint printf(const char *, ...);\nint main(void) {\n"
        for q in queries {
            src += "\tprintf(\"%s=%lu\\n\", \"\(q.key)\", (unsigned long)(\(q.expr)));\n"
        }
        src += "\treturn 0;\n}\n"
        try src.write(to: workDir.appendingPathComponent("probe.c"), atomically: true, encoding: .utf8)
        try run("gcc", ["-O0", "-w", "-o", "probe", "probe.c"], in: workDir)
        let out = try run(workDir.appendingPathComponent("probe").path, [], in: workDir)
        var result: [String: Int] = [:]
        for line in out.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let v = Int(kv[1]) { result[String(kv[0])] = v }
        }
        return result
    }

    /// arm64: no aarch64 binary can run here, so each query becomes an initialized constant
    /// and the cross compiler's own assembly output (`-S`) gives its value: `.xword N` (or
    /// `.zero 8` for 0) after the constant's label.
    static func probeCrossLayouts(workDir: URL, queries: [(key: String, expr: String)]) throws -> [String: Int] {
        var src = KernelDeclarations.types + "\n#define offsetof(T, m) __builtin_offsetof(T, m)\n"
        for (i, q) in queries.enumerated() {
            src += "const unsigned long vmsim_probe_\(i) = (unsigned long)(\(q.expr));\n"
        }
        try src.write(to: workDir.appendingPathComponent("probe.c"), atomically: true, encoding: .utf8)
        try run(gcc, ["-O0", "-w", "-g0", "-S", "-o", "probe.s", "probe.c"], in: workDir)
        let asm = try String(contentsOf: workDir.appendingPathComponent("probe.s"), encoding: .utf8)
        var values: [Int: Int] = [:]
        var current: Int? = nil
        for raw in asm.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("vmsim_probe_"), line.hasSuffix(":") {
                current = Int(line.dropFirst("vmsim_probe_".count).dropLast())
                continue
            }
            guard let i = current else { continue }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count == 2, parts[0] == ".xword" || parts[0] == ".8byte" || parts[0] == ".dword" {
                values[i] = Int(parts[1])
            } else if parts.count == 2, parts[0] == ".zero", parts[1] == "8" {
                values[i] = 0
            }
            current = nil
        }
        var result: [String: Int] = [:]
        for (i, q) in queries.enumerated() {
            guard let v = values[i] else { throw BuildError(description: "layout probe: no value for \(q.key) in probe.s") }
            result[q.key] = v
        }
        return result
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String], in dir: URL) throws -> String {
        let p = Process()
        if tool.hasPrefix("/") {
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [tool] + args
        }
        p.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        env["SOURCE_DATE_EPOCH"] = "0"
        p.environment = env
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BuildError(description: "\(tool) failed (\(p.terminationStatus)): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
