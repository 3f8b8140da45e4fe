import Foundation
import Testing

/// truth.json as the tests read it.
struct Truth {
    struct Block { let pfn: Int; let order: Int; let gfp: Int; let pid: Int; let tgid: Int; let comm: String
        let ts: Int; let freeTs: Int; let handle: Int; let allocated: Bool }
    let blocks: [Block]
    let stacks: [Int: (frames: [String], pages: Int)]

    init(_ dir: URL) throws {
        let data = try Data(contentsOf: dir.appendingPathComponent("expected/truth.json"))
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let bl = try #require(obj["blocks"] as? [[String: Any]])
        blocks = bl.map { b in
            Block(pfn: b["pfn"] as? Int ?? -1, order: b["order"] as? Int ?? -1, gfp: b["gfp"] as? Int ?? -1,
                  pid: b["pid"] as? Int ?? -1, tgid: b["tgid"] as? Int ?? -1, comm: b["comm"] as? String ?? "",
                  ts: b["ts"] as? Int ?? -1, freeTs: b["free_ts"] as? Int ?? -1, handle: b["handle"] as? Int ?? -1,
                  allocated: b["allocated"] as? Bool ?? false)
        }
        var st: [Int: (frames: [String], pages: Int)] = [:]
        for (k, v) in try #require(obj["stacks"] as? [String: [String: Any]]) {
            st[Int(k) ?? -1] = (v["frames"] as? [String] ?? [], v["pages"] as? Int ?? -1)
        }
        stacks = st
    }
}

/// One record of page_owner.txt.
struct PageOwnerRecord {
    let order: Int, mask: Int, pid: Int, tgid: Int, comm: String, ts: Int, pfn: Int
    let frames: [String]
    let tail: [String]
}

func parsePageOwner(_ text: String) -> [PageOwnerRecord] {
    var out: [PageOwnerRecord] = []
    for chunk in text.components(separatedBy: "\n\n") where !chunk.isEmpty {
        let lines = chunk.split(separator: "\n").map(String.init)
        guard lines.count >= 2 else { continue }
        let l1 = lines[0], l2 = lines[1]
        func after(_ s: String, _ key: String, _ stop: Character) -> String {
            guard let r = s.range(of: key) else { return "" }
            return String(s[r.upperBound...].prefix { $0 != stop })
        }
        let commStart = l1.range(of: " (")!.upperBound
        let commEnd = l1.range(of: "), ts ", options: .backwards)!.lowerBound
        out.append(PageOwnerRecord(
            order: Int(after(l1, "order ", ",")) ?? -1,
            mask: Int(after(l1, "mask 0x", "(").isEmpty ? "-1" : after(l1, "mask 0x", "("), radix: 16) ?? -1,
            pid: Int(after(l1, "pid ", ",")) ?? -1, tgid: Int(after(l1, "tgid ", " ")) ?? -1,
            comm: String(l1[commStart..<commEnd]), ts: Int(after(l1, "), ts ", " ")) ?? -1,
            pfn: Int(after(l2, "PFN 0x", " "), radix: 16) ?? -1,
            frames: lines.dropFirst(2).filter { $0.hasPrefix(" ") }.map { String($0.dropFirst()) },
            tail: lines.dropFirst(2).filter { !$0.hasPrefix(" ") }))
    }
    return out
}

@Suite struct ExpectedOutputTests {
    /// page_owner.txt holds exactly one 6.12-format record per allocated block of truth.json.
    @Test func pageOwnerMatchesTruth() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M")
        let truth = try Truth(dir)
        let text = try String(contentsOfFile: dir.file("expected/page_owner.txt"), encoding: .utf8)
        #expect(text.hasPrefix("Page allocated via order "))
        #expect(text.hasSuffix("\n\n"))
        let records = parsePageOwner(text)
        let allocated = truth.blocks.filter { $0.allocated && $0.handle != 0 }
        #expect(records.count == allocated.count)
        #expect(records.map { $0.pfn } == allocated.map { $0.pfn })
        for (r, b) in zip(records, allocated) {
            #expect(r.order == b.order && r.mask == b.gfp && r.pid == b.pid && r.tgid == b.tgid && r.comm == b.comm
                    && r.ts == b.ts, "record at pfn \(r.pfn)")
            #expect(r.frames == truth.stacks[b.handle]?.frames ?? [], "stack of pfn \(r.pfn)")
        }
        // The workload's landmarks: dd into tmpfs, brd frames, memcg lines, a migrated page,
        // early pages, high orders, freed blocks that keep their owner.
        #expect(records.filter { $0.comm == "dd" && $0.tail.contains("Charged to memcg work") }.count >= 4000)
        #expect(records.contains { $0.frames.contains { $0.hasSuffix(" [brd]") } })
        #expect(records.contains { $0.tail.contains("Slab cache page") })
        #expect(records.contains { $0.tail.contains { $0.hasPrefix("Charged (via objcg) to memcg ") } })
        #expect(records.contains { $0.tail.contains("Charged to offline memcg old-job") })
        #expect(records.contains { $0.tail.contains("Charged to memcg /") })
        #expect(records.contains { $0.tail.contains("Page has been migrated, last migrate reason: compaction") })
        #expect(records.contains { $0.mask == 0 && $0.frames.first?.hasPrefix("register_early_stack+") == true })
        #expect(records.contains { $0.order == 9 })
        #expect(truth.blocks.contains { !$0.allocated && $0.freeTs > $0.ts })
        #expect(truth.blocks.contains { $0.allocated && $0.freeTs > 0 })
        #expect(text.contains("PFN 0x") && text.contains(" type Movable Block "))
    }

    /// show_stacks lists the kernel's stack_list entries with pages; the 6.19 files agree.
    @Test func stackFilesAgree() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M")
        let truth = try Truth(dir)
        let stacks = try String(contentsOfFile: dir.file("expected/show_stacks.txt"), encoding: .utf8)
        let handles = try String(contentsOfFile: dir.file("expected/show_handles.txt"), encoding: .utf8)
        let both = try String(contentsOfFile: dir.file("expected/show_stacks_handles.txt"), encoding: .utf8)
        let counts = stacks.split(separator: "\n").filter { $0.hasPrefix("nr_base_pages: ") }.compactMap { Int($0.dropFirst(15)) }
        let handleCounts = handles.split(separator: "\n").filter { $0.hasPrefix("nr_base_pages: ") }.compactMap { Int($0.dropFirst(15)) }
        #expect(counts == handleCounts)
        #expect(counts.allSatisfy { $0 >= 1 })
        // Each listed handle's pages equal the truth's census, except the early-pages stack
        // which the kernel never counts.
        let listed = handles.split(separator: "\n").filter { $0.hasPrefix("handle: ") }.compactMap { Int($0.dropFirst(8)) }
        for (h, n) in zip(listed, handleCounts) { #expect(truth.stacks[h]?.pages == n, "handle \(h)") }
        // show_stacks_handles lists every entry, including those with no pages (dummy, failure,
        // the migration target stack).
        let all = both.split(separator: "\n").filter { $0.hasPrefix("handle: ") }
        #expect(all.count > listed.count)
        #expect(both.contains(" register_dummy_stack+") && both.contains(" register_failure_stack+"))
    }
}
