import Foundation
import Testing

/// `--memory-model`: the vmlinux's DWARF and the VMCOREINFO note describe each model as its
/// kernel would (gdb and nm, not our reader, say so); makedumpfile's reading of the struct
/// pages is checked in FormatsTests.
@Suite struct MemoryModelDumpTests {
    static func dump(_ model: String) throws -> URL {
        try SimTools.dump(seed: 4, memory: "64M", ["--memory-model", model])
    }

    static func runtimeAddress(_ dir: URL, _ symbol: String, info: [String: String]) throws -> String {
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        let line = try #require(nm.text.split(separator: "\n").first { $0.hasSuffix(" \(symbol)") }, "nm: no \(symbol)")
        let link = try #require(UInt64(line.split(separator: " ")[0], radix: 16))
        let offset = try #require(info["KERNELOFFSET"].flatMap { UInt64($0, radix: 16) })
        return String(link + offset, radix: 16)
    }

    @Test func sparseStaticHasTheSectionArray() throws {
        let dir = try Self.dump("sparse-static")
        let g = try SimTools.run("gdb", ["-batch", "-ex", "whatis mem_section", "-ex", "print sizeof(mem_section)", dir.file("vmlinux")])
        #expect(g.text.contains("type = struct mem_section [524288][1]"), "\(g.text)")
        #expect(g.text.contains("= 16777216"), "\(g.text)")
        let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
        // SYMBOL_ARRAY of an array is its own address; LENGTH is NR_SECTION_ROOTS.
        #expect(info["SYMBOL(mem_section)"] == (try Self.runtimeAddress(dir, "mem_section", info: info)))
        #expect(info["LENGTH(mem_section)"] == "524288")
        #expect(info["SYMBOL(node_data)"] != nil)
    }

    @Test func flatHasNodeArraysAndNoSections() throws {
        let dir = try Self.dump("flat")
        let g = try SimTools.run("gdb", ["-batch", "-ex", "ptype struct pglist_data", "-ex", "ptype struct zone",
                                         "-ex", "whatis mem_map", "-ex", "whatis contig_page_data", dir.file("vmlinux")])
        for text in ["struct page *node_mem_map;", "struct page_ext *node_page_ext;", "unsigned long *pageblock_flags;",
                     "type = struct page *", "type = struct pglist_data"] {
            #expect(g.text.contains(text), "gdb lacks \(text)")
        }
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        #expect(!nm.text.contains(" mem_section\n") && !nm.text.contains(" node_data\n"))
        let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
        #expect(info["SYMBOL(mem_map)"] == (try Self.runtimeAddress(dir, "mem_map", info: info)))
        #expect(info["SYMBOL(contig_page_data)"] == (try Self.runtimeAddress(dir, "contig_page_data", info: info)))
        #expect(info["SYMBOL(mem_section)"] == nil && info["LENGTH(node_data)"] == nil)

        let decls = try SimTools.vmsim(["--memory-model", "flat", "--print-c-types"])
        let fields = [("pglist_data", "node_mem_map"), ("pglist_data", "node_page_ext"), ("pglist_data", "node_start_pfn"),
                      ("zone", "pageblock_flags"), ("zone", "zone_start_pfn")]
        let (got, expected) = try OffsetCheck.dwarfAndOffsetof(vmlinux: dir.file("vmlinux"), declarations: decls.text, fields: fields, work: "offsets-flat")
        #expect(got == expected)
        #expect(got.count == fields.count)
    }

    /// Without NUMA page->flags has no node field: the zone sits in the top two bits.
    @Test func flatPageFlagsHaveNoNode() throws {
        let text = try String(contentsOf: Self.dump("flat").appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        #expect(!text.contains("node="))
        #expect(text.contains("Flags 0x4000000000000000(zone=1)") || text.contains("|zone=1)"))
        let sparse = try String(contentsOf: Self.dump("sparse-static").appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        #expect(sparse.contains("(node=0|zone=1)") || sparse.contains("|node=0|zone=1)"))
    }
}

/// SPARSEMEM without VMEMMAP: section_mem_map points into the direct map (each section's own
/// array, less its first pfn), and page->flags carries the section number.
@Suite struct NoVmemmapDumpTests {
    @Test func sectionsHaveTheirOwnArrays() throws {
        let dir = try SimTools.dump(seed: 4, memory: "768M", ["--memory-model", "sparse-no-vmemmap"])
        let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
        #expect(info["SYMBOL(vmemmap)"] == nil)
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        #expect(!nm.text.contains(" vmemmap_populate\n"))
        let text = try String(contentsOf: dir.appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        // pfns of section 5 (640M-768M) print section=5 before node and zone.
        #expect(text.contains("|section=5|node=0|zone=1)") || text.contains("(section=5|node=0|zone=1)"))
        #expect(!text.contains("section=3|"))   // section 3 is the missing one
        let sparse = try SimTools.dump(seed: 4, memory: "64M")
        #expect(try SimTools.run("nm", [sparse.file("vmlinux")]).text.contains(" vmemmap_populate\n"))
    }
}
