import Foundation
import Testing

/// `stacks --format pprof`: decoded by Python's protobuf with the official profile.proto,
/// its totals equal the text reports.
@Suite struct PprofTests {
    struct Decoded {
        let sampleTypes: [[String]]
        /// pages and bytes per stack of function names, leaf first, joined by ";".
        let stacks: [String: [Int64]]
        let labels: [String: [String: Int64]]
        let samples: Int

        init(_ file: URL) throws {
            let json = try ExportTools.python("pprof_totals.py", [file.path, ExportTools.officialProfileProto])
            sampleTypes = json["sample_types"] as? [[String]] ?? []
            stacks = (json["stacks"] as? [String: [NSNumber]] ?? [:]).mapValues { $0.map(\.int64Value) }
            labels = (json["labels"] as? [String: [String: NSNumber]] ?? [:]).mapValues { $0.mapValues(\.int64Value) }
            samples = json["samples"] as? Int ?? 0
        }
    }

    /// Writes vmowner's pprof output to a file and decodes it.
    static func profile(_ arguments: [String], name: String) throws -> Decoded {
        let result = try Tools.run("vmowner", arguments + ["--format", "pprof"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.prefix(2) == Data([0x1f, 0x8b]), "gzip")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-\(name)-\(getpid()).pb.gz")
        try result.stdout.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try Decoded(file)
    }

    /// Pages per stack of function names (leaf first, ";"), from show_stacks text.
    static func functionStacks(_ showStacks: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for (frames, pages) in stackPages(showStacks: showStacks) {
            out[(frames.isEmpty ? ["[stack unavailable]"] : frames.map(functionName)).joined(separator: ";"), default: 0] += pages
        }
        return out
    }

    static func expectTotals(_ p: Decoded, equal text: String) {
        #expect(p.sampleTypes == [["pages", "count"], ["space", "bytes"]])
        let expected = functionStacks(text)
        #expect(expected.count > 10)
        #expect(p.stacks.mapValues { $0[0] } == expected)
        #expect(p.stacks.values.allSatisfy { $0[1] == $0[0] * 4096 }, "space = pages * 4096")
    }

    /// The kernel's counts (6.9+ stack list): the totals of show_stacks, no labels.
    @Test func stackListTotals() throws {
        let dir = try SimulatedDumps.dump(seed: 2, memory: "256M")
        let p = try Self.profile(["stacks", dir.file("vmlinux"), dir.file("vmcore")], name: "list")
        Self.expectTotals(p, equal: try String(contentsOf: dir.appendingPathComponent("expected/show_stacks.txt"), encoding: .utf8))
        #expect(p.labels.isEmpty)
    }

    /// Counted from the pages: per stack as `stacks --from-pages`, and per comm, pid, memcg
    /// and gfp mask as the simulated kernel's page_owner file adds up (boot pages left out,
    /// as the kernel's stack counts leave them out).
    @Test(arguments: [(1, "64M"), (2, "256M")])
    func labelsFromPages(seed: Int, memory: String) throws {
        let dir = try SimulatedDumps.dump(seed: seed, memory: memory)
        let files = [dir.file("vmlinux"), dir.file("vmcore")]
        let p = try Self.profile(["stacks"] + files + ["--from-pages"], name: "pages-\(seed)")
        let text = try Tools.run("vmowner", ["stacks"] + files + ["--from-pages"])
        Self.expectTotals(p, equal: text.text)
        let expected = Self.labels(pageOwner: try String(contentsOf: dir.appendingPathComponent("expected/page_owner.txt"), encoding: .utf8))
        for key in ["comm", "pid", "memcg", "gfp"] {
            #expect((expected[key] ?? [:]).count > 1, "\(key)")
            #expect(p.labels[key] == expected[key], "\(key)")
        }
    }

    /// The real 6.12 kernel: totals equal vmowner's stacks text, labels its page_owner text
    /// (memcgs and module stacks included).
    @Test func realKernel() throws {
        let dir = try RealKernelTests.folder("6.12")
        let files = [dir.file("vmlinux"), dir.file("vmcore.elf"), "--threshold", "0"]
        let list = try Self.profile(["stacks"] + files, name: "real-list")
        Self.expectTotals(list, equal: try Tools.run("vmowner", ["stacks"] + files).text)
        let pages = try Self.profile(["stacks"] + files + ["--from-pages"], name: "real-pages")
        Self.expectTotals(pages, equal: try Tools.run("vmowner", ["stacks"] + files + ["--from-pages"]).text)
        let pageOwner = try Tools.run("vmowner", ["page-owner", dir.file("vmlinux"), dir.file("vmcore.elf")])
        let expected = Self.labels(pageOwner: pageOwner.text)
        #expect((expected["memcg"] ?? [:]).count > 1)
        for key in ["comm", "pid", "memcg", "gfp"] { #expect(pages.labels[key] == expected[key], "\(key)") }
        #expect(pages.stacks.keys.contains { $0.contains(" [brd]") })
    }

    /// Pages per label value from page_owner text: `Page allocated via order O, mask M, pid P,
    /// tgid T (COMM), ts ...`, `Charged ... memcg NAME`; blocks of the boot stack left out.
    static func labels(pageOwner text: String) -> [String: [String: Int64]] {
        var out: [String: [String: Int64]] = [:]
        for block in text.components(separatedBy: "\n\n") where block.hasPrefix("Page allocated via order ") {
            if block.contains(" register_early_stack+") { continue }
            let header = block.prefix { $0 != "\n" }
            let fields = header.components(separatedBy: ", ")
            guard let order = Int(fields[0].dropFirst("Page allocated via order ".count)), fields.count >= 4 else { continue }
            let pages = Int64(1) << order
            let mask = String(fields[1].dropFirst("mask ".count))
            let pid = String(fields[2].dropFirst("pid ".count))
            let tgidAndComm = fields[3]     // "tgid T (COMM)"
            guard let open = tgidAndComm.firstIndex(of: "(") else { continue }
            let comm = String(tgidAndComm[tgidAndComm.index(after: open)..<tgidAndComm.index(before: tgidAndComm.endIndex)])
            out["comm", default: [:]][comm, default: 0] += pages
            out["pid", default: [:]][pid, default: 0] += pages
            out["gfp", default: [:]][mask, default: 0] += pages
            if let charged = block.components(separatedBy: "\n").first(where: { $0.hasPrefix("Charged ") }),
               let at = charged.range(of: "memcg ") {
                out["memcg", default: [:]][String(charged[at.upperBound...]), default: 0] += pages
            }
        }
        return out
    }
}
