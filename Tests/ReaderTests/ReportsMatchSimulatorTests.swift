import Foundation
import Testing

/// Every report equals what the simulated kernel would have printed (vmsim's expected/),
/// byte for byte, for several seeds and sizes.
@Suite struct ReportsMatchSimulatorTests {
    static let machines: [(seed: Int, memory: String)] = [(1, "64M"), (2, "256M"), (3, "1G"), (4, "300M")]

    @Test(arguments: machines)
    func pageOwnerText(seed: Int, memory: String) throws {
        let dir = try SimulatedDumps.dump(seed: seed, memory: memory)
        try expectReport(["page-owner", dir.file("vmlinux"), dir.file("vmcore")], equals: dir.appendingPathComponent("expected/page_owner.txt"), "page_owner")
    }

    @Test(arguments: machines)
    func stackFiles(seed: Int, memory: String) throws {
        let dir = try SimulatedDumps.dump(seed: seed, memory: memory)
        for (flags, file) in [([String](), "show_stacks.txt"), (["--handles"], "show_handles.txt"),
                              (["--with-handles"], "show_stacks_handles.txt")] {
            try expectReport(["stacks", dir.file("vmlinux"), dir.file("vmcore")] + flags, equals: dir.appendingPathComponent("expected/" + file), file)
        }
    }

    /// /proc/allocinfo: the image's tags, then brd's, per-CPU counters summed.
    @Test(arguments: machines)
    func allocInfo(seed: Int, memory: String) throws {
        let dir = try SimulatedDumps.dump(seed: seed, memory: memory)
        let result = try expectReport(["allocinfo", dir.file("vmlinux"), dir.file("vmcore")], equals: dir.appendingPathComponent("expected/allocinfo.txt"), "allocinfo")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        #expect(result.text.contains(" [brd] func:brd_insert_page \n"))
    }

    /// /proc/pagetypeinfo's pageblock tables, with mixed blocks on every machine.
    @Test(arguments: machines)
    func pageblockTables(seed: Int, memory: String) throws {
        let dir = try SimulatedDumps.dump(seed: seed, memory: memory)
        let result = try expectReport(["fragmentation", dir.file("vmlinux"), dir.file("vmcore")],
                                      equals: dir.appendingPathComponent("expected/pagetypeinfo_pageblocks.txt"), "pagetypeinfo")
        let mixedRows = result.text.components(separatedBy: "Number of mixed blocks").last?.split(separator: "\n").dropFirst() ?? []
        let mixed = mixedRows.flatMap { $0.split(separator: " ").dropFirst(4).compactMap { Int($0) } }.reduce(0, +)
        #expect(mixed > 0, "no mixed pageblock")
    }

    /// `count_threshold`: only stacks with at least N pages, N taken between the counts the
    /// simulated kernel's show_stacks lists.
    @Test func stacksThreshold() throws {
        let dir = try SimulatedDumps.dump(seed: 2, memory: "256M")
        func counts(_ text: String) -> [Int64] {
            text.split(separator: "\n").filter { $0.hasPrefix("nr_base_pages: ") }
                .compactMap { Int64($0.dropFirst("nr_base_pages: ".count)) }
        }
        let all = counts(try String(contentsOfFile: dir.file("expected/show_stacks.txt"), encoding: .utf8))
        let sorted = all.sorted()
        try #require(sorted.count >= 3)
        let threshold = sorted[sorted.count / 2]
        let result = try Tools.vmowner("stacks", dir.file("vmlinux"), dir.file("vmcore"), "--threshold", String(threshold))
        #expect(result.status == 0)
        let printed = counts(result.text)
        #expect(printed == all.filter { $0 >= threshold })
        #expect(printed.count < all.count)
    }
}

/// A vmlinux kept as .xz (as distributions ship debug kernels) reads like the plain one.
@Suite struct CompressedVMLinuxTests {
    @Test func xzVMLinux() throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M")
        let packed = SimulatedDumps.root.appendingPathComponent("vmlinux-\(UUID().uuidString).xz").path
        let xz = Process()
        xz.executableURL = URL(fileURLWithPath: "/bin/sh")
        xz.arguments = ["-c", "xz -T1 -c '\(dir.file("vmlinux"))' > '\(packed)'"]
        try xz.run()
        xz.waitUntilExit()
        try #require(xz.terminationStatus == 0)
        let result = try Tools.vmowner("page-owner", packed, dir.file("vmcore"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("decompressing"))
        let expected = try String(contentsOfFile: dir.file("expected/page_owner.txt"), encoding: .utf8)
        #expect(result.text == expected)
    }
}
