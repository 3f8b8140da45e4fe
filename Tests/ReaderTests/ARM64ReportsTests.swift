import Foundation
import Testing

/// vmowner on `vmsim --arch arm64` dumps: every report equals the simulated kernel's own,
/// byte for byte, for every granule and VA size the kernel offers, in ELF and kdump form,
/// for 6.12 and 6.1, filtered and flattened.
@Suite struct ARM64ReportsTests {
    struct Machine: CustomTestStringConvertible, Sendable {
        let granule: String
        let vaBits: Int
        let format: String
        var kernel = "6.12"
        var extra: [String] = []
        var testDescription: String { ([granule, String(vaBits), format, kernel] + extra).joined(separator: " ") }
        /// A few pageblocks of each migratetype (a 64K pageblock is 512 MiB).
        var memory: String { granule == "4K" ? "256M" : granule == "16K" ? "512M" : "1G" }
        var args: [String] {
            ["--arch", "arm64", "--granule", granule, "--va-bits", String(vaBits), "--format", format, "--kernel", kernel] + extra
        }
    }

    static let vaSizes: [(String, Int)] = [("4K", 39), ("4K", 48), ("4K", 52), ("16K", 47), ("16K", 48), ("16K", 52),
                                           ("64K", 42), ("64K", 48), ("64K", 52)]
    static let kdumpFormats = ["kdump-zlib", "kdump-lzo", "kdump-zstd", "kdump-snappy"]
    static let machines: [Machine] =
        vaSizes.map { Machine(granule: $0.0, vaBits: $0.1, format: "elf") }
        + vaSizes.enumerated().map { i, v in Machine(granule: v.0, vaBits: v.1, format: kdumpFormats[i % kdumpFormats.count]) }
        + [Machine(granule: "4K", vaBits: 48, format: "elf", kernel: "6.1"),
           Machine(granule: "16K", vaBits: 47, format: "kdump-zlib", kernel: "6.1"),
           Machine(granule: "64K", vaBits: 52, format: "elf", kernel: "6.1"),
           Machine(granule: "4K", vaBits: 48, format: "flat"),
           Machine(granule: "16K", vaBits: 48, format: "elf", extra: ["--exclude"]),
           Machine(granule: "64K", vaBits: 48, format: "kdump-zlib", extra: ["--exclude"])]

    @Test(arguments: machines.indices)
    func reportsMatch(_ index: Int) throws {
        let m = Self.machines[index]
        let dir = try SimulatedDumps.dump(seed: 1 + index, memory: m.memory, m.args)
        let files = [dir.file("vmlinux"), dir.file("vmcore")]
        try expectReport(["page-owner"] + files, equals: dir.appendingPathComponent("expected/page_owner.txt"), "\(m) page_owner")
        // show_stacks exists from 6.9 (stack_list); the handle files on every profile.
        var stackFiles = [(["--handles"], "show_handles.txt"), (["--with-handles"], "show_stacks_handles.txt")]
        if m.kernel == "6.12" { stackFiles.append(([], "show_stacks.txt")) }
        for (flags, file) in stackFiles {
            try expectReport(["stacks"] + files + flags, equals: dir.appendingPathComponent("expected/" + file), "\(m) \(file)")
        }
        if m.kernel == "6.12" {
            try expectReport(["allocinfo"] + files, equals: dir.appendingPathComponent("expected/allocinfo.txt"), "\(m) allocinfo")
        }
        try expectReport(["fragmentation"] + files, equals: dir.appendingPathComponent("expected/pagetypeinfo_pageblocks.txt"),
                         "\(m) pagetypeinfo")
    }

    /// `info` names what the translation came from.
    @Test func infoNamesTheGranule() throws {
        let m = Machine(granule: "16K", vaBits: 52, format: "elf")
        let dir = try SimulatedDumps.dump(seed: 3, memory: m.memory, m.args)
        let r = try Tools.run("vmowner", ["info", dir.file("vmlinux"), dir.file("vmcore")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text.contains("arm64, 16 KiB pages"), "\(r.text)")
        #expect(r.text.contains("LPA2"), "\(r.text)")
    }
}
