import DepotWalker
import ELFCore
import Foundation
import Testing

/// The three ways a kernel finds a pfn's struct page and page_ext slot: SPARSEMEM_EXTREME
/// (root pages of sections), SPARSEMEM without EXTREME (a static section array) and FLATMEM
/// (node_mem_map / node_page_ext, pageblock flags per zone). 768M machines have section 3
/// (384M–512M) missing: a hole SPARSEMEM has no mem_map for and FLATMEM does.
@Suite struct MemoryModelTests {
    static let models = ["sparse-extreme", "sparse-no-vmemmap", "sparse-static", "flat"]
    static let cases: [(String, String, Int)] = models.flatMap { m in [(m, "6.12", 31), (m, "5.4", 32), (m, "6.19", 33)] }

    static func dump(_ model: String, kernel: String = "6.12", seed: Int = 31) throws -> URL {
        try SimulatedDumps.dump(seed: seed, memory: "768M", ["--memory-model", model, "--kernel", kernel])
    }

    @Test(arguments: cases)
    func everyReport(model: String, kernel: String, seed: Int) throws {
        let dir = try Self.dump(model, kernel: kernel, seed: seed)
        let files = [dir.file("vmlinux"), dir.file("vmcore")]
        let expected = dir.appendingPathComponent("expected")
        try expectReport(["page-owner"] + files, equals: expected.appendingPathComponent("page_owner.txt"), "\(model) \(kernel) page_owner")
        try expectReport(["stacks", "--handles"] + files, equals: expected.appendingPathComponent("show_handles.txt"), "\(model) \(kernel) show_handles")
        if kernel != "5.4" {
            try expectReport(["stacks"] + files, equals: expected.appendingPathComponent("show_stacks.txt"), "\(model) \(kernel) show_stacks")
            try expectReport(["allocinfo"] + files, equals: expected.appendingPathComponent("allocinfo.txt"), "\(model) \(kernel) allocinfo")
        }
        // FLATMEM's pageblock flags live in the zones, and its hole blocks count.
        try expectReport(["fragmentation"] + files, equals: expected.appendingPathComponent("pagetypeinfo_pageblocks.txt"), "\(model) \(kernel) pagetypeinfo")
    }

    /// info names the model the kernel was built with, as its DWARF shows it.
    @Test func infoNamesTheModel() throws {
        let names = ["SPARSEMEM_EXTREME + SPARSEMEM_VMEMMAP", "SPARSEMEM_EXTREME", "SPARSEMEM + SPARSEMEM_VMEMMAP", "FLATMEM"]
        for (model, name) in zip(Self.models, names) {
            let dir = try Self.dump(model)
            let r = try Tools.vmowner("info", dir.file("vmlinux"), dir.file("vmcore"))
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.text.contains("memory model: \(name)\n"), "\(model): \(r.text)")
        }
    }

    /// The missing section: SPARSEMEM has no struct pages there, FLATMEM has reserved ones
    /// (without page_owner records), and /proc/pagetypeinfo counts FLATMEM's hole blocks.
    @Test func theHoleInEachModel() throws {
        let hole = (UInt64(384) << 20) >> 12     // the first pfn of the missing section
        var blockTotals: [String: UInt64] = [:]
        for model in Self.models {
            let dir = try Self.dump(model)
            let r = try Tools.vmowner("pfn", dir.file("vmlinux"), dir.file("vmcore"), String(hole))
            #expect(r.status == 0, "\(r.stderr)")
            let noMap = r.text.contains("no memory map there")
            #expect(noMap == (model != "flat"), "\(model): \(r.text)")
            if model == "flat" { #expect(r.text.contains("page_owner info is not present"), "\(r.text)") }

            let f = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore"), "--format", "json")
            #expect(f.status == 0, "\(f.stderr)")
            blockTotals[model] = try Self.blockTotal(f.stdout)
        }
        #expect(blockTotals["sparse-extreme"] == blockTotals["sparse-static"])
        #expect(blockTotals["sparse-extreme"] == blockTotals["sparse-no-vmemmap"])
        // 32768 pfns of the missing section are 64 pageblocks.
        #expect(blockTotals["flat"] == (blockTotals["sparse-extreme"] ?? 0) + 64, "\(blockTotals)")
    }

    /// Sum of the "Number of blocks type" table over every zone and type.
    static func blockTotal(_ json: Data) throws -> UInt64 {
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let zones = try #require(object["zones"] as? [[String: Any]], "\(object.keys)")
        var total: UInt64 = 0
        for zone in zones {
            let counts = try #require(zone["blocks_by_type"] as? [String: Any], "\(zone.keys)")
            for value in counts.values { total += (value as? NSNumber)?.uint64Value ?? 0 }
        }
        return total
    }

    /// FLATMEM's node and zone fields and max_mapnr set to extremes: a report or a one-line
    /// error, never a trap or a hang.
    @Test func flatFieldsAtExtremes() throws {
        let dir = try Self.dump("flat")
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore"))
        let types = dump.types
        let pgdat = try dump.requireAddress(of: "contig_page_data")
        let pgdatType = try types.structType("pglist_data"), zoneType = try types.structType("zone")
        let zone1 = pgdat + UInt64(try pgdatType.member("node_zones").offset + zoneType.size)
        var targets: [(String, UInt64)] = [("max_mapnr", try dump.requireAddress(of: "max_mapnr"))]
        for f in ["node_start_pfn", "node_spanned_pages", "node_page_ext"] {
            targets.append((f, pgdat + UInt64(try pgdatType.member(f).offset)))
        }
        for f in ["zone_start_pfn", "spanned_pages", "pageblock_flags"] {
            targets.append(("zone." + f, zone1 + UInt64(try zoneType.member(f).offset)))
        }
        for (name, va) in targets {
            for value: UInt64 in [.max, 1 << 40, 0x1234_5678_9abc] {
                let path = try BadInputTests.copy(dir.file("vmcore"), "flat-\(name)")
                try BadInputTests.patch(path, at: try BadInputTests.fileOffset(dump, virtual: va), withUnsafeBytes(of: value.littleEndian) { Array($0) })
                for command in [["page-owner"], ["fragmentation"], ["pfn", "0x2000"]] {
                    let r = try Tools.run("vmowner", [command[0], dir.file("vmlinux"), path] + command.dropFirst())
                    #expect(r.status == 0 || r.status == 1, "\(name)=\(value) \(command): exit \(r.status) \(r.stderr.suffix(300))")
                }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// A FLATMEM node whose mem_map pointer is gone: a one-line error, exit 1, no trap.
    @Test func flatNodeWithoutMemMap() throws {
        let dir = try Self.dump("flat")
        let dump = try KernelDump(vmlinuxPath: dir.file("vmlinux"), vmcorePath: dir.file("vmcore"))
        let pgdat = try dump.requireAddress(of: "contig_page_data")
        let offset = try dump.types.structType("pglist_data").member("node_mem_map").offset
        let path = try BadInputTests.copy(dir.file("vmcore"), "flat-no-memmap")
        try BadInputTests.patch(path, at: try BadInputTests.fileOffset(dump, virtual: pgdat + UInt64(offset)), [UInt8](repeating: 0, count: 8))
        let r = try Tools.vmowner("page-owner", dir.file("vmlinux"), path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("node_mem_map"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}
