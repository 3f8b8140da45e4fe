import Foundation
import Testing

/// `vmowner diff`: two snapshots stack by stack, against diffs computed here from the
/// simulated kernels' own show_stacks files.
@Suite struct DiffTests {
    static func machines() throws -> (URL, URL) {
        (try SimulatedDumps.dump(seed: 1, memory: "64M"), try SimulatedDumps.dump(seed: 2, memory: "256M"))
    }

    static func dumps(_ a: URL, _ b: URL, _ format: String) throws -> Tools.Result {
        let result = try Tools.vmowner("diff", a.file("vmcore"), b.file("vmcore"), "--vmlinux", a.file("vmlinux"),
                                       "--vmlinux", b.file("vmlinux"), "--format", format)
        #expect(result.status == 0, "\(result.stderr)")
        return result
    }

    static func stacks(_ json: String) throws -> [[String: Any]] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return try #require(root["stacks"] as? [[String: Any]])
    }

    @Test func dumpsAgainstExpectedFiles() throws {
        let (a, b) = try Self.machines()
        let before = stackPages(showStacks: try String(contentsOf: a.appendingPathComponent("expected/show_stacks.txt"), encoding: .utf8))
        let after = stackPages(showStacks: try String(contentsOf: b.appendingPathComponent("expected/show_stacks.txt"), encoding: .utf8))
        let rows = try Self.stacks(try Self.dumps(a, b, "json").text)
        let keys = Set(before.keys).union(after.keys)
        #expect(rows.count == keys.count)
        var seen = Set<[String]>()
        var previousDelta = Int64.max
        for row in rows {
            let frames = row["frames"] as? [String] ?? []
            seen.insert(frames)
            let old = before[frames] ?? 0, new = after[frames] ?? 0
            #expect((row["before"] as? NSNumber)?.int64Value == old)
            #expect((row["after"] as? NSNumber)?.int64Value == new)
            let delta = (row["delta"] as? NSNumber)?.int64Value ?? .min
            #expect(delta == new - old)
            #expect(delta <= previousDelta, "sorted by growth")
            previousDelta = delta
            let status = old == 0 ? "new" : new == 0 ? "vanished" : new > old ? "grew" : new < old ? "shrank" : "same"
            #expect(row["status"] as? String == status)
            if old > 0 {
                let percent = (row["percent"] as? NSNumber)?.doubleValue ?? .nan
                #expect(abs(percent - Double(new - old) / Double(old) * 100) <= 0.05)
            } else {
                #expect(row["percent"] is NSNull)
            }
        }
        #expect(seen == keys)
        #expect(rows.contains { $0["status"] as? String == "grew" } && rows.contains { $0["status"] as? String == "shrank" })
    }

    /// The kernel's show_stacks text as input gives the same diff as the dumps it came from.
    @Test func showStacksTextEqualsDump() throws {
        let (a, b) = try Self.machines()
        let fromDumps = try Self.dumps(a, b, "json").text
        let fromText = try Tools.vmowner("diff", a.file("expected/show_stacks.txt"), b.file("expected/show_stacks.txt"), "--format", "json")
        #expect(fromText.status == 0, "\(fromText.stderr)")
        #expect(fromText.text == fromDumps)
    }

    /// page_owner text against its own dump: every stack the same but the boot pages'
    /// stack, which page_owner lists and the kernel's stack counts leave out.
    @Test func pageOwnerTextAgainstItsDump() throws {
        let (_, b) = try Self.machines()
        for (first, second, status) in [(b.file("expected/page_owner.txt"), b.file("vmcore"), "vanished"),
                                         (b.file("vmcore"), b.file("expected/page_owner.txt"), "new")] {
            let result = try Tools.vmowner("diff", first, second, "--vmlinux", b.file("vmlinux"), "--format", "json")
            #expect(result.status == 0, "\(result.stderr)")
            let rows = try Self.stacks(result.text)
            let changed = rows.filter { $0["status"] as? String != "same" }
            #expect(rows.count > 50)
            #expect(changed.count == 1)
            #expect(changed.first?["status"] as? String == status)
            #expect((changed.first?["frames"] as? [String])?.first?.hasPrefix("register_early_stack+") == true)
        }
    }

    @Test func textCSVAndSVG() throws {
        let (a, b) = try Self.machines()
        let json = try Self.stacks(try Self.dumps(a, b, "json").text)
        let csv = try Self.dumps(a, b, "csv").text.split(separator: "\n")
        #expect(csv.first == "status,before,after,delta,percent,frames")
        #expect(csv.count == json.count + 1)
        if let top = json.first, csv.count > 1 {
            let frames = (top["frames"] as? [String] ?? []).joined(separator: ";")
            #expect(csv[1].hasPrefix("\(top["status"] as? String ?? ""),\((top["before"] as? NSNumber)?.int64Value ?? -1),\((top["after"] as? NSNumber)?.int64Value ?? -1),"))
            #expect(csv[1].hasSuffix(frames))
        }

        let text = try Self.dumps(a, b, "text").text
        let totalBefore = json.reduce(Int64(0)) { $0 + (($1["before"] as? NSNumber)?.int64Value ?? 0) }
        let totalAfter = json.reduce(Int64(0)) { $0 + (($1["after"] as? NSNumber)?.int64Value ?? 0) }
        #expect(text.hasPrefix("before: \(totalBefore) pages, after: \(totalAfter) pages, delta: +\(totalAfter - totalBefore) pages"))
        #expect(text.components(separatedBy: "\ngrew: ").count - 1 == json.filter { $0["status"] as? String == "grew" }.count)

        // The differential flame graph: one frame per distinct prefix of either side, the
        // root holding both totals, red frames where pages grew and blue where they shrank.
        let svg = try Self.dumps(a, b, "svg").text
        var prefixes = Set<[String]>()
        for row in json {
            let rootFirst = Array((row["frames"] as? [String] ?? []).reversed())
            for n in 1...max(rootFirst.count, 1) { prefixes.insert(Array(rootFirst.prefix(n))) }
        }
        #expect(svg.components(separatedBy: "<g class=\"frame\"").count - 1 == prefixes.count + 1)
        #expect(svg.contains("data-d=\"0\" data-b=\"\(totalBefore)\" data-a=\"\(totalAfter)\""))
        #expect(svg.contains("fill=\"rgb(255,"), "a growing frame is red")
        #expect(svg.range(of: #"fill="rgb\(\d+,\d+,255\)""#, options: .regularExpression) != nil, "a shrinking frame is blue")
    }

    @Test func badInput() throws {
        let (a, _) = try Self.machines()
        let noVmlinux = try Tools.vmowner("diff", a.file("vmcore"), a.file("expected/show_stacks.txt"))
        #expect(noVmlinux.status == 1)
        #expect(noVmlinux.stderr.contains("\(a.file("vmcore")): no vmlinux given, and none in /usr/lib/debug for Linux 6.12.0-vmsim"), "\(noVmlinux.stderr)")
        let missing = try Tools.vmowner("diff", "/nonexistent/before", a.file("expected/show_stacks.txt"))
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("vmowner: /nonexistent/before: "))
    }
}

/// The real 6.12 kernel: its own show_stacks, captured just before the dump, against the
/// dump. Only the pages allocated or freed in between move: at most 1% of the pages.
@Suite struct RealKernelDiffTests {
    @Test func capturedShowStacksAgainstTheDump() throws {
        let dir = try RealKernelTests.folder("6.12")
        let result = try Tools.vmowner("diff", dir.file("captured/show_stacks.txt"), dir.file("vmcore.elf"),
                                       "--vmlinux", dir.file("vmlinux"), "--format", "json")
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try DiffTests.stacks(result.text)
        let captured = stackPages(showStacks: try String(contentsOfFile: dir.file("captured/show_stacks.txt"), encoding: .utf8))
        let before = rows.reduce(Int64(0)) { $0 + (($1["before"] as? NSNumber)?.int64Value ?? 0) }
        #expect(before == captured.values.reduce(0, +))
        let moved = rows.reduce(Int64(0)) { $0 + abs(($1["delta"] as? NSNumber)?.int64Value ?? 0) }
        #expect(rows.count > 50)
        #expect(rows.filter { $0["status"] as? String == "same" }.count > rows.count * 9 / 10)
        #expect(Double(moved) <= 0.01 * Double(before), "\(moved) of \(before) pages moved")
    }
}
