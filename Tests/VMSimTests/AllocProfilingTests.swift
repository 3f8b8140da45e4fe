import Foundation
import Testing

/// Memory allocation profiling and the pageblock tables as tools that are not ours see the
/// vmlinux, and vmsim's expected files against each other.
@Suite struct AllocProfilingTests {
    static func tagLines(_ dir: URL) throws -> [String] {
        let text = try String(contentsOf: dir.appendingPathComponent("expected/allocinfo.txt"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst(2).map(String.init)
    }

    /// nm shows the alloc_tags bracket; gdb's sizeof(struct alloc_tag) divides it into exactly
    /// the image's lines of allocinfo.txt; the tag struct's offsets agree with offsetof.
    @Test(arguments: ["6.12", "6.19"]) func tagsSectionHoldsTheImageTags(kernel: String) throws {
        let dir = try SimTools.dump(seed: 11, memory: "128M", ["--kernel", kernel])
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        func address(_ name: String) -> UInt64? {
            nm.text.split(separator: "\n").first { $0.hasSuffix(" " + name) }.flatMap { UInt64($0.prefix(16), radix: 16) }
        }
        let start = try #require(address("__start_alloc_tags")), stop = try #require(address("__stop_alloc_tags"))
        for name in ["alloc_tag_cttype", "codetag_types", "mem_alloc_profiling_key", "__cpu_possible_mask"] {
            #expect(address(name) != nil, "\(name) missing")
        }
        let gdb = try SimTools.run("gdb", ["-batch", "-ex", "print sizeof(struct alloc_tag)", dir.file("vmlinux")])
        let size = try #require(gdb.text.split(separator: "=").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        let lines = try Self.tagLines(dir)
        let imageLines = lines.filter { !$0.contains(" [") }
        #expect(stop > start && (stop - start) % size == 0)
        #expect(Int((stop - start) / size) == imageLines.count)
        #expect(lines.count > imageLines.count, "no module tags")
        let header = try String(contentsOf: dir.appendingPathComponent("expected/allocinfo.txt"), encoding: .utf8).prefix(25)
        #expect(header == (kernel == "6.19" ? "allocinfo - version: 2.0\n" : "allocinfo - version: 1.0\n"))
        #expect(lines.contains { $0.hasSuffix(" accurate:no ") } == (kernel == "6.19"))

        let decls = try SimTools.vmsim(["--kernel", kernel, "--print-c-types"])
        let fields = [("alloc_tag", "counters"), ("codetag", "lineno"), ("codetag", "filename"), ("codetag_type", "mod_idr"),
                      ("codetag_type", "desc"), ("codetag_module", "range"), ("idr", "idr_base"), ("xa_node", "slots")]
        let (got, expected) = try OffsetCheck.dwarfAndOffsetof(vmlinux: dir.file("vmlinux"), declarations: decls.text, fields: fields,
                                                               work: "alloc-offsets-\(kernel)")
        #expect(got == expected)
        #expect(got.count == fields.count)
    }

    /// The brd page tag counts what page_owner shows: one order-0 page per record allocated
    /// by brd_insert_page itself (its xarray's slab pages are xas_alloc's), 4096 bytes each.
    @Test func brdTagCountsThePageOwnerRecords() throws {
        let dir = try SimTools.dump(seed: 2, memory: "256M")
        let line = try #require(try Self.tagLines(dir).first { $0.contains("[brd] func:brd_insert_page") })
        let numbers = line.split(separator: " ").prefix(2).compactMap { Int($0) }
        try #require(numbers.count == 2)
        let pageOwner = try String(contentsOf: dir.appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        let records = pageOwner.components(separatedBy: "\n\n").filter { $0.contains(" brd_insert_page+") && !$0.contains(" allocate_slab+") }
        #expect(records.count > 100)
        #expect(numbers == [records.count * 4096, records.count])
    }

    /// No allocation profiling before 6.10: no section, no allocinfo.txt.
    @Test func noTagsOn61() throws {
        let dir = try SimTools.dump(seed: 11, memory: "128M", ["--kernel", "6.1"])
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        for name in ["__start_alloc_tags", "alloc_tag_cttype", "mem_alloc_profiling_key"] { #expect(!nm.text.contains(" " + name + "\n")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("expected/allocinfo.txt")))
    }

    /// The mixed-block table and page_owner.txt come from different code: the blocks where a
    /// record's "type T Block b type U" has T != U are the mixed ones, counted once each.
    @Test(arguments: [(2, "256M"), (3, "1G")]) func mixedBlocksAreWherePageOwnerSawOtherTypes(seed: Int, memory: String) throws {
        let dir = try SimTools.dump(seed: seed, memory: memory)
        var mixed = Set<Int>()
        let pageOwner = try String(contentsOf: dir.appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        for line in pageOwner.split(separator: "\n") where line.hasPrefix("PFN ") {
            let w = line.split(separator: " ")
            guard w.count >= 8, w[4] == "Block", let block = Int(w[5]) else { continue }
            if w[3] != w[7] { mixed.insert(block) }
        }
        let tables = try String(contentsOf: dir.appendingPathComponent("expected/pagetypeinfo_pageblocks.txt"), encoding: .utf8)
        let mixedRows = try #require(tables.components(separatedBy: "Number of mixed blocks").last).split(separator: "\n").dropFirst()
        let counts = mixedRows.map { $0.split(separator: " ").dropFirst(4).compactMap { Int($0) } }
        #expect(counts.count >= 2)
        #expect(counts.flatMap { $0 }.reduce(0, +) == mixed.count)
        #expect(counts.map { $0.count > 1 ? $0[1] : 0 }.reduce(0, +) > 0, "no mixed movable block")
    }
}
