import Foundation
import Testing

/// Random damage to the kernel data of a dump (page_ext, struct pages, depot pools, sections,
/// kallsyms, page tables...) must give a report, a partial report with warnings, or a one-line
/// error: exit 0 or 1, never a trap or a hang.
@Suite struct CorruptDumpTests {
    /// splitmix64, so every run damages the same bytes.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static let dumps: [(kernel: String, model: String?)] = [("6.12", nil), ("5.4", nil), ("6.19-swap", nil),
                                                             ("6.12", "flat"), ("6.12", "sparse-no-vmemmap")]

    @Test(arguments: dumps)
    func randomDamageNeverTraps(kernel: String, model: String?) throws {
        let dir = try SimulatedDumps.dump(seed: 21, memory: "64M", ["--kernel", kernel] + (model.map { ["--memory-model", $0] } ?? []))
        let original = try Data(contentsOf: URL(fileURLWithPath: dir.file("vmcore")))
        // Pages that hold anything: where the kernel's data is.
        var pages: [Int] = []
        original.withUnsafeBytes { raw in
            for start in stride(from: 0, to: raw.count, by: 4096) where raw[start..<min(start + 4096, raw.count)].contains(where: { $0 != 0 }) {
                pages.append(start)
            }
        }
        try #require(pages.count > 100)
        let name = kernel + (model ?? "")
        var random = Random(state: name.utf8.reduce(UInt64(0x5eed)) { $0 &* 31 &+ UInt64($1) })
        let damaged = SimulatedDumps.root.appendingPathComponent("damaged-\(name)-\(UUID().uuidString)")
        for round in 0..<12 {
            var bytes = original
            for _ in 0..<(1 << (round % 4 * 2)) {
                let at = pages[Int(random.next() % UInt64(pages.count))] + Int(random.next() % 4096)
                if at < bytes.count { bytes[at] = UInt8(truncatingIfNeeded: random.next()) }
            }
            try bytes.write(to: damaged)
            for command in [["page-owner"], ["stacks", "--from-pages"], ["pfn", "0x1000"]] {
                let result = try Tools.run("vmowner", [command[0], dir.file("vmlinux"), damaged.path] + command.dropFirst())
                #expect(result.status == 0 || result.status == 1, "round \(round) \(command): exit \(result.status) \(result.stderr.suffix(300))")
            }
        }
    }
}
