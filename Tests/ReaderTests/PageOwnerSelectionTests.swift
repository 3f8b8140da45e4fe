import Foundation
import Testing

/// `vmowner page-owner` with the newest kernels' filters (--mode, --nid, --pid, --tgid) and
/// vmowner's own selections, against vmsim's expected/page_owner.txt cut down here by the
/// test's own reading of vmsim's truth.json (ids, orders, times, handles, frames) and of the
/// expected text (gfp names, memcg lines).
@Suite struct PageOwnerSelectionTests {
    struct Block {
        let text: String
        let pfn: UInt64
        let truth: [String: Any]
        var frames: [String]
    }

    /// The expected records, each with its truth entry and stack frames.
    static func blocks(_ dir: URL) throws -> [Block] {
        let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("expected/truth.json"))) as! [String: Any]
        var byPFN: [UInt64: [String: Any]] = [:]
        for b in truth["blocks"] as! [[String: Any]] where b["allocated"] as? Bool == true {
            byPFN[(b["pfn"] as! NSNumber).uint64Value] = b
        }
        let stacks = truth["stacks"] as! [String: [String: Any]]
        let text = try String(contentsOf: dir.appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        return text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { body in
            let pfnLine = body.split(separator: "\n")[1]
            let field = pfnLine.split(separator: " ")[1]
            let pfn = field.hasPrefix("0x") ? UInt64(field.dropFirst(2), radix: 16)! : UInt64(field)!
            let entry = byPFN[pfn] ?? [:]
            let handle = (entry["handle"] as? NSNumber)?.stringValue ?? ""
            return Block(text: body + "\n\n", pfn: pfn, truth: entry, frames: stacks[handle]?["frames"] as? [String] ?? [])
        }
    }

    static func number(_ b: Block, _ key: String) -> Int64 { (b.truth[key] as? NSNumber)?.int64Value ?? -1 }

    /// The record text in a 7.x print mode: frames dropped (handle) or kept (stack_handle),
    /// then `handle: N` before the migrate and memcg lines.
    static func inMode(_ b: Block, _ mode: String) -> String {
        var lines = b.text.dropLast(2).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let frameEnd = 2 + lines[2...].prefix(while: { $0.hasPrefix(" ") }).count
        if mode == "handle" { lines.removeSubrange(2..<frameEnd) }
        lines.insert("handle: \(number(b, "handle"))", at: mode == "handle" ? 2 : frameEnd)
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// Runs page-owner with `options`; expects the records `keep` selects, in `mode`. A
    /// selection (`partial`) must keep some records and leave some out.
    func check(_ dir: URL, _ options: [String], _ blocks: [Block], mode: String = "stack", partial: Bool = true, _ keep: (Block) -> Bool) throws {
        let result = try Tools.run("vmowner", ["page-owner", dir.file("vmlinux"), dir.file("vmcore")] + options)
        #expect(result.status == 0, "\(options): \(result.stderr)")
        let kept = blocks.filter(keep)
        let expected = kept.map { mode == "stack" ? $0.text : Self.inMode($0, mode) }.joined()
        if partial { #expect(!kept.isEmpty && kept.count < blocks.count, "\(options): the selection keeps \(kept.count) of \(blocks.count) records") }
        let same = result.text == expected
        #expect(same, "\(options): \(firstDifference(result.text, expected) ?? "")")
    }

    @Test(arguments: ["6.19", "6.12", "5.4"])
    func kernelFilters(kernel: String) throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "128M", ["--kernel", kernel])
        let blocks = try Self.blocks(dir)
        #expect(blocks.allSatisfy { !$0.truth.isEmpty })
        for mode in ["handle", "stack_handle", "stack"] {
            try check(dir, ["--mode", mode], blocks, mode: mode, partial: false) { _ in true }
        }
        // Every page of a vmsim machine is on node 0, which has memory.
        try check(dir, ["--nid", "0", "--mode", "handle"], blocks, mode: "handle", partial: false) { _ in true }
        let refused = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore"), "--nid", "0-1")
        #expect(refused.status == 1 && refused.stdout.isEmpty, "nid 1 has no memory: \(refused.stderr)")

        guard kernel != "5.4" else { return }    // no pid in struct page_owner before 5.11
        var counts: [Int64: Int] = [:]
        for b in blocks { counts[Self.number(b, "pid"), default: 0] += 1 }
        let pids = counts.sorted { $0.value > $1.value }.map(\.key)
        let (p1, p2) = (pids[1], pids[2])
        try check(dir, ["--pid", "\(p1)"], blocks) { Self.number($0, "pid") == p1 }
        try check(dir, ["--tgid", "\(p2)", "--pid", "\(p1),,4194304", "--mode", "stack_handle"], blocks, mode: "stack_handle") {
            Self.number($0, "pid") == p1 || Self.number($0, "tgid") == p2
        }
        let bad = try Tools.vmowner("page-owner", dir.file("vmlinux"), dir.file("vmcore"), "--pid", "4194305")
        #expect(bad.status != 0 && bad.stdout.isEmpty)
    }

    @Test func vmownerSelections() throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "128M", ["--kernel", "6.19"])
        let blocks = try Self.blocks(dir)
        try check(dir, ["--comm", "k*"], blocks) { ($0.truth["comm"] as? String)?.hasPrefix("k") == true }
        try check(dir, ["--comm", "d?"], blocks) { ($0.truth["comm"] as? String)?.count == 2 && ($0.truth["comm"] as? String)?.hasPrefix("d") == true }
        try check(dir, ["--order", "1,2"], blocks) { [1, 2].contains(Self.number($0, "order")) }
        let middle = blocks[blocks.count / 2].pfn
        try check(dir, ["--pfn", "0x\(String(middle, radix: 16))-\(middle + 5000)"], blocks) { $0.pfn >= middle && $0.pfn <= middle + 5000 }
        let times = blocks.map { Self.number($0, "ts") }.sorted()
        let (from, to) = (times[times.count / 4], times[times.count / 2])
        try check(dir, ["--since", "\(from)", "--until", "\(to)"], blocks) { Self.number($0, "ts") >= from && Self.number($0, "ts") <= to }
        try check(dir, ["--stack-contains", "shmem_alloc_folio"], blocks) { $0.frames.contains { $0.hasPrefix("shmem_alloc_folio+") } }
        try check(dir, ["--module", "brd"], blocks) { $0.frames.contains { $0.hasSuffix(" [brd]") } }
        // No composite name of gfpflag_names holds __GFP_ZERO, so the text shows its bit.
        try check(dir, ["--gfp", "__GFP_ZERO"], blocks) { $0.text.prefix(while: { $0 != "\n" }).contains("__GFP_ZERO") }
        try check(dir, ["--memcg", "/sys/fs/cgroup/work"], blocks) { $0.text.contains("memcg work\n") }
        try check(dir, ["--comm", "dd", "--order", "0", "--mode", "handle"], blocks, mode: "handle") {
            $0.truth["comm"] as? String == "dd" && Self.number($0, "order") == 0
        }
    }

    /// The same selections on the reports that count pages: `stacks` (counted from the pages),
    /// `summary` and `pfn` count exactly the pages of the records the selection keeps, by
    /// handle, as truth.json has them (a block of order k is 2^k pages).
    @Test func selectionsOnEveryReport() throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "128M", ["--kernel", "6.19"])
        let blocks = try Self.blocks(dir)
        let selections: [([String], (Block) -> Bool)] = [
            (["--comm", "k*"], { ($0.truth["comm"] as? String)?.hasPrefix("k") == true }),
            (["--order", "1,2"], { [1, 2].contains(Self.number($0, "order")) }),
            (["--memcg", "work"], { $0.text.contains("memcg work\n") }),
            (["--module", "brd", "--order", "0"], { $0.frames.contains { $0.hasSuffix(" [brd]") } && Self.number($0, "order") == 0 }),
        ]
        for (options, keep) in selections {
            let kept = blocks.filter(keep)
            #expect(!kept.isEmpty && kept.count < blocks.count, "\(options)")
            var expected: [Int64: Int64] = [:]
            for b in kept { expected[Self.number(b, "handle"), default: 0] += Int64(1) << Self.number(b, "order") }

            let stacks = try Tools.run("vmowner", ["stacks", dir.file("vmlinux"), dir.file("vmcore"), "--format", "json", "--threshold", "1"] + options)
            #expect(stacks.status == 0, "\(options): \(stacks.stderr)")
            let document = try JSONSerialization.jsonObject(with: Data(stacks.text.utf8)) as! [String: Any]
            var counted: [Int64: Int64] = [:]
            for row in document["stacks"] as! [[String: Any]] {
                counted[(row["handle"] as! NSNumber).int64Value] = (row["nr_base_pages"] as! NSNumber).int64Value
            }
            #expect(counted == expected, "stacks \(options)")

            let summary = try Tools.run("vmowner", ["summary", dir.file("vmlinux"), dir.file("vmcore"), "--format", "json"] + options)
            let totals = try JSONSerialization.jsonObject(with: Data(summary.text.utf8)) as! [String: Any]
            #expect((totals["pages_allocated"] as? NSNumber)?.int64Value == expected.values.reduce(0, +), "summary \(options)")

            // pfn prints the selected one of two pfns, and nothing for the other.
            let outside = try #require(blocks.first { !keep($0) }), inside = kept[kept.count / 2]
            let pfn = try Tools.run("vmowner", ["pfn", dir.file("vmlinux"), dir.file("vmcore"), "\(outside.pfn)", "\(inside.pfn)"] + options)
            #expect(pfn.status == 0 && pfn.text.hasPrefix("PFN 0x\(String(inside.pfn, radix: 16)) (\(inside.pfn))\n"), "pfn \(options): \(pfn.text.prefix(200))")
            #expect(!pfn.text.contains("PFN 0x\(String(outside.pfn, radix: 16)) "), "pfn \(options)")
        }
    }
}
