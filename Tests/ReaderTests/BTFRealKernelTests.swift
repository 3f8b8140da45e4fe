import ELFCore
import Foundation
import Testing

/// The real kernels' dumps read without their debug vmlinux: the 6.12 kernels carry their BTF
/// (CONFIG_DEBUG_INFO_BTF), so the dump alone must give every report byte for byte as the
/// DWARF path does; the same from a vmlinux stripped of its DWARF (its .BTF kept) and, for the
/// 6.1 kernel, built without BTF, from a BTF file that pahole encodes from its DWARF (--btf).
@Suite struct BTFRealKernelTests {
    static let reports: [[String]] = [["page-owner"], ["stacks"], ["stacks", "--handles"], ["summary"], ["fragmentation"],
                                      ["allocinfo"], ["pfn", "0x4402", "0x10000"], ["swap"]]
    static let emptyDebugDir: String = {
        let dir = SimulatedDumps.root.appendingPathComponent("empty-debug-dir").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Each report from `without` (arguments in place of the vmlinux) equals the DWARF path's.
    static func expectSameReports(_ dir: URL, dump: String, without: [String], label: String) throws {
        for report in reports {
            let with = try Tools.run("vmowner", [report[0], dir.file("vmlinux"), dump] + report.dropFirst())
            let alone = try Tools.run("vmowner", [report[0], "--debug-dir", emptyDebugDir] + without + [dump] + report.dropFirst())
            #expect(alone.status == with.status, "\(label) \(report): \(alone.stderr)")
            #expect(alone.stdout == with.stdout, "\(label) \(report): \(alone.stdout.count) bytes vs \(with.stdout.count)")
            // (Both may refuse alike: arm64 -d 31 dumps lack the pages of stack_list.)
            if with.status == 0, report == ["page-owner"] || report == ["stacks"] { #expect(with.stdout.count > 1000, "\(report)") }
        }
    }

    static func hasBTF(_ vmlinux: String) throws -> Bool {
        let sections = try Tools.runExecutable("/usr/bin/readelf", ["-S", "-W", vmlinux])
        return sections.text.contains(" .BTF ")
    }

    @Test(arguments: ["6.12", "6.12-novmemmap", "6.12-arm64"], ["vmcore.elf", "vmcore.kdump-zlib"])
    func dumpAloneGivesTheDWARFReports(version: String, format: String) throws {
        let dir = try RealKernelTests.folder(version)
        // The 6.12 configs ask for CONFIG_DEBUG_INFO_BTF: a kernel without it is a broken build.
        try #require(try Self.hasBTF(dir.file("vmlinux")), "\(version) was built without CONFIG_DEBUG_INFO_BTF")
        let info = try Tools.vmowner("info", "--debug-dir", Self.emptyDebugDir, dir.file(format))
        #expect(info.status == 0 && info.text.contains("types from the kernel's BTF in the dump"), "\(info.stderr)")
        #expect(info.text.contains("symbols from the dump's kallsyms"), "\(info.text)")
        try Self.expectSameReports(dir, dump: dir.file(format), without: [], label: "\(version) \(format) alone")
    }

    /// makedumpfile -d 31 keeps the kernel image, and so its kallsyms and BTF: the filtered
    /// dumps alone (kdump-compressed and flattened) give what the DWARF path gives of them.
    @Test(arguments: ["6.12", "6.12-arm64"])
    func filteredDumpsAloneGiveTheDWARFReports(version: String) throws {
        let converted = try ConvertedDumps.make(version)
        for name in ["c-d31", "F-d31"] {
            try Self.expectSameReports(try RealKernelTests.folder(version), dump: converted.file(name), without: [],
                                       label: "\(version) \(name) alone")
        }
    }

    @Test(arguments: ["6.12", "6.12-arm64"])
    func strippedVMLinuxGivesTheDWARFReports(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        try #require(try Self.hasBTF(dir.file("vmlinux")))
        let stripped = SimulatedDumps.root.appendingPathComponent("vmlinux-stripped-\(version)").path
        defer { try? FileManager.default.removeItem(atPath: stripped) }
        // Debian's host objcopy knows x86 only; the arm64 cross binutils come with the arm64 kernel build.
        let objcopy = RealKernelTests.isArm64(version) ? "/usr/bin/aarch64-linux-gnu-objcopy" : "/usr/bin/objcopy"
        let strip = try Tools.runExecutable(objcopy, ["--strip-debug", dir.file("vmlinux"), stripped])
        #expect(strip.status == 0, "\(strip.stderr)")
        let info = try Tools.vmowner("info", stripped, dir.file("vmcore.elf"))
        #expect(info.text.contains("types from its .BTF section"), "\(info.text) \(info.stderr)")
        try Self.expectSameReports(dir, dump: dir.file("vmcore.elf"), without: [stripped], label: "\(version) stripped")
        guard !RealKernelTests.isArm64(version) else { return }
        // Without the VMCOREINFO note too: recovered from memory with the BTF's layouts.
        let noNote = try VMCoreInfoRecoveryTests.withoutNote(dir.file("vmcore.elf"), "vmcore.elf")
        defer { try? FileManager.default.removeItem(atPath: noNote) }
        let recovered = try Tools.vmowner("info", stripped, noNote)
        #expect(recovered.text.contains("recovered from its memory") && recovered.text.contains("types from its .BTF section"), "\(recovered.text) \(recovered.stderr)")
        for report in [["page-owner"], ["stacks"], ["allocinfo"]] {
            let with = try Tools.run("vmowner", [report[0], dir.file("vmlinux"), dir.file("vmcore.elf")])
            let alone = try Tools.run("vmowner", [report[0], stripped, noNote])
            #expect(alone.status == 0 && alone.stdout == with.stdout, "no note, stripped \(report): \(alone.stderr)")
        }
    }

    /// 6.1 has no BTF in its image: the dump alone is refused naming what is missing, and a
    /// BTF file of the kernel (pahole from its DWARF, as /sys/kernel/btf/vmlinux would be)
    /// with the dump's kallsyms gives every report.
    @Test func btfFileWithKallsymsGivesTheDWARFReports() throws {
        let dir = try RealKernelTests.folder("6.1")
        let refused = try Tools.vmowner("page-owner", "--debug-dir", Self.emptyDebugDir, dir.file("vmcore.elf"))
        #expect(refused.status == 1 && refused.stderr.contains("carries no BTF") && refused.stderr.contains("--btf"), "\(refused.stderr)")
        let btf = SimulatedDumps.root.appendingPathComponent("6.1.btf").path
        let encode = try Tools.runExecutable("/usr/bin/pahole", ["--btf_encode_detached=\(btf)", dir.file("vmlinux")])
        #expect(encode.status == 0, "\(encode.stderr)")
        try Self.expectSameReports(dir, dump: dir.file("vmcore.kdump-zlib"), without: ["--btf", btf], label: "6.1 --btf")
    }

    /// Without a vmlinux and without the VMCOREINFO note nothing locates kallsyms or the BTF:
    /// refused, saying so.
    @Test func noVMLinuxAndNoNoteIsRefusedSayingWhatIsMissing() throws {
        let dir = try RealKernelTests.folder("6.12")
        let noNote = try VMCoreInfoRecoveryTests.withoutNote(dir.file("vmcore.elf"), "vmcore.elf")
        defer { try? FileManager.default.removeItem(atPath: noNote) }
        let refused = try Tools.vmowner("stacks", "--debug-dir", Self.emptyDebugDir, noNote)
        #expect(refused.status == 1 && refused.stdout.isEmpty, "\(refused.stderr)")
        #expect(refused.stderr.contains("no VMCOREINFO note") && refused.stderr.contains("name the vmlinux"), "\(refused.stderr)")
    }

    /// pahole's encoding of a real vmlinux's DWARF, made once per kernel.
    static func encodedBTF(_ version: String) throws -> String {
        let btf = SimulatedDumps.root.appendingPathComponent("\(version).btf").path
        if !FileManager.default.fileExists(atPath: btf) {
            let encode = try Tools.runExecutable("/usr/bin/pahole", ["--btf_encode_detached=\(btf)", try RealKernelTests.folder(version).file("vmlinux")])
            #expect(encode.status == 0, "\(encode.stderr)")
        }
        return btf
    }

    /// The shape of a global's type: arrays with their lengths, pointers, and what they hold.
    static func shape(_ type: TypeRef) -> String {
        switch type.resolved {
        case .array(let element, let count): return "[\(count.map(String.init) ?? "")]" + shape(element)
        case .pointer(let target): return "*" + shape(target)
        case .structure(let name, _): return "struct \(name)"
        case .void: return "void"
        default: return "scalar"
        }
    }

    /// Every global in KnownGlobals has, from BTF and kallsyms, the shape and array lengths
    /// that the DWARF declares, on every real kernel.
    @Test(arguments: RealKernelTests.versions)
    func knownGlobalsAgreeWithTheDWARF(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        try Self.expectKnownGlobalsAgree(vmlinux: dir.file("vmlinux"), vmcore: dir.file("vmcore.elf"),
                                         btf: Self.encodedBTF(version), label: version)
    }

    /// `btf` nil: the BTF in the dump.
    static func expectKnownGlobalsAgree(vmlinux: String, vmcore: String, btf: String?, label: String) throws {
        let dwarf = try KernelDump(vmlinuxPath: vmlinux, vmcorePath: vmcore)
        let alone = try KernelDump(vmlinuxPath: nil, vmcorePaths: [vmcore],
                                   debugInfo: DebugInfoLocator(directory: emptyDebugDir), btfPath: btf)
        #expect(alone.vmlinux == nil && alone.types.origin == "BTF")
        var compared = 0
        for name in ["node_data", "node_states", "__per_cpu_offset", "mem_section", "stack_table", "stack_pools", "stack_slabs",
                     "migrate_reason_names", "migratetype_names"] where dwarf.types.hasVariable(name) {
            #expect(alone.types.hasVariable(name), "\(label) \(name)")
            let expected = shape(try dwarf.types.variableType(name))
            #expect(shape(try alone.types.variableType(name)) == expected, "\(label) \(name)")
            compared += 1
        }
        #expect(compared >= 6, "\(label)")
    }
}
