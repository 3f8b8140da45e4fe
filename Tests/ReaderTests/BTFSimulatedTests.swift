import Foundation
import Testing

/// vmowner on `vmsim --btf` dumps with no debug vmlinux: the types from the BTF in the
/// simulated kernel's image (found through the dump's kallsyms, which VMCOREINFO locates from
/// 6.0), the symbols from kallsyms; every report equals the simulated kernel's own, byte for
/// byte. Kernels before 6.0 do not locate kallsyms in VMCOREINFO: they are read with their
/// vmlinux stripped of its DWARF (its .BTF kept).
@Suite struct BTFSimulatedTests {
    struct Machine: CustomTestStringConvertible, Sendable {
        let kernel: String
        var extra: [String] = []
        var testDescription: String { ([kernel] + extra).joined(separator: " ") }
        /// Kernels before 6.0 write no kallsyms tables into VMCOREINFO.
        var locatesKallsyms: Bool { !["5.4", "5.10", "5.15"].contains(kernel) }
    }

    static let machines: [Machine] = [
        Machine(kernel: "6.12"), Machine(kernel: "6.12", extra: ["--format", "kdump-zlib"]),
        Machine(kernel: "6.12", extra: ["--exclude", "--format", "kdump-zstd"]),
        Machine(kernel: "6.12", extra: ["--memory-model", "sparse-static"]),
        Machine(kernel: "6.12", extra: ["--memory-model", "flat"]),
        Machine(kernel: "6.1"), Machine(kernel: "6.6"), Machine(kernel: "6.8"), Machine(kernel: "6.19"),
        Machine(kernel: "6.19-swap"), Machine(kernel: "5.15"), Machine(kernel: "5.4"),
        Machine(kernel: "6.12", extra: ["--arch", "arm64", "--granule", "4K", "--va-bits", "48"]),
        Machine(kernel: "6.1", extra: ["--arch", "arm64", "--granule", "64K", "--va-bits", "52", "--format", "kdump-zlib"]),
    ]

    /// Each expected/ file and the command that prints it.
    static let reports: [(file: String, arguments: [String])] = [
        ("page_owner.txt", ["page-owner"]), ("show_stacks.txt", ["stacks"]), ("show_handles.txt", ["stacks", "--handles"]),
        ("show_stacks_handles.txt", ["stacks", "--with-handles"]), ("allocinfo.txt", ["allocinfo"]),
        ("pagetypeinfo_pageblocks.txt", ["fragmentation"]), ("swap_page_owner.txt", ["swap"]),
    ]

    @Test(arguments: machines.indices)
    func reportsFromTheDumpAlone(_ index: Int) throws {
        let m = Self.machines[index]
        let memory = m.extra.contains("64K") ? "1G" : "128M"
        let dir = try SimulatedDumps.dump(seed: 40 + index, memory: memory, ["--kernel", m.kernel, "--btf"] + m.extra)
        var kernel = ["--debug-dir", BTFRealKernelTests.emptyDebugDir]
        if !m.locatesKallsyms {
            let stripped = dir.file("vmlinux-stripped")
            let strip = try Tools.runExecutable("/usr/bin/objcopy", ["--strip-debug", dir.file("vmlinux"), stripped])
            #expect(strip.status == 0, "\(strip.stderr)")
            kernel = [stripped]
        }
        let info = try Tools.run("vmowner", ["info"] + kernel + [dir.file("vmcore")])
        let source = m.locatesKallsyms ? "types from the kernel's BTF in the dump" : "types from its .BTF section"
        #expect(info.status == 0 && info.text.contains(source), "\(m): \(info.text) \(info.stderr)")
        var compared = 0
        for report in Self.reports {
            let expected = dir.appendingPathComponent("expected/" + report.file)
            guard FileManager.default.fileExists(atPath: expected.path) else { continue }
            try expectReport([report.arguments[0]] + kernel + [dir.file("vmcore")] + report.arguments.dropFirst(), equals: expected,
                             "\(m) \(report.file)")
            compared += 1
        }
        #expect(compared >= 4, "\(m)")
    }
}
