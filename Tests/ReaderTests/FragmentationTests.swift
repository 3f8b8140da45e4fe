@testable import DepotWalker
import Foundation
import Testing

/// `vmowner fragmentation` on the real 6.12 and 6.1 dumps against the /proc/pagetypeinfo the
/// kernels printed, and against their own page_owner text.
@Suite struct FragmentationRealKernelTests {
    /// The captured /proc/pagetypeinfo without its free-page table (the lines from "Free pages
    /// count" to the blank line after them), which vmowner does not print.
    static func pageblockPart(_ text: String) -> String {
        var out: [Substring] = []
        var skipping = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Free pages count per migrate type") { skipping = true }
            if skipping {
                if line.isEmpty { skipping = false }
                continue
            }
            out.append(line)
        }
        return out.joined(separator: "\n")
    }

    @Test(arguments: RealKernelTests.versions)
    func tablesEqualTheKernels(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        let started = Date()
        let result = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore.elf"))
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        let kernel = Self.pageblockPart(try String(contentsOfFile: dir.file("captured/pagetypeinfo.txt"), encoding: .utf8))
        #expect(kernel.contains("Number of mixed blocks    Unmovable"))
        #expect(result.text == kernel, "\(firstDifference(result.text, kernel) ?? "")")
        print("real \(version) fragmentation: tables \(result.text == kernel ? "equal" : "differ") to /proc/pagetypeinfo; \(String(format: "%.2f", seconds)) s")
    }

    /// The kernel's page_owner text prints each page's migratetype next to its block's
    /// ("PFN p type T Block b type U"): the blocks where T differs from U are the mixed ones.
    @Test(arguments: RealKernelTests.versions)
    func mixedBlocksAreWherePageOwnerSawOtherTypes(version: String) throws {
        let dir = try RealKernelTests.folder(version)
        let result = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore.elf"), "--format", "json", "--blocks")
        #expect(result.status == 0, "\(result.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let order = try #require(doc["pageblock_order"] as? Int)
        let zones = try #require(doc["zones"] as? [[String: Any]])
        // One zone, as the kernel's block table has it: DMA32 on x86_64 (1 GiB), Normal on
        // arm64 (no ZONE_DMA/DMA32 in that config).
        let zone = RealKernelTests.isArm64(version) ? "Normal" : "DMA32"
        #expect(zones.count == 1 && zones[0]["zone"] as? String == zone)
        let blocks = try #require(zones[0]["blocks"] as? [[String: Any]])
        #expect(blocks.count > 200)
        let ours = Set(blocks.filter { $0["mixed"] as? Bool == true }.compactMap { ($0["start_pfn"] as? Int).map { $0 >> order } })

        var kernelMixed = Set<Int>()
        for line in try String(contentsOfFile: dir.file("captured/page_owner.txt"), encoding: .utf8).split(separator: "\n") where line.hasPrefix("PFN ") {
            let w = line.split(separator: " ")
            guard w.count >= 8, w[2] == "type", w[4] == "Block", w[6] == "type", let block = Int(w[5]) else { continue }
            if w[3] != w[7] { kernelMixed.insert(block) }
        }
        #expect(ours == kernelMixed)
        // The mixed table is the count of those blocks, under each block's own type.
        let mixedTable = try #require(zones[0]["mixed_blocks_by_type"] as? [String: Int])
        #expect(mixedTable.values.reduce(0, +) == ours.count)
        // Every block was visited once: the per-type block counts add up to the block list.
        let blockTable = try #require(zones[0]["blocks_by_type"] as? [String: Int])
        var listed: [String: Int] = [:]
        for b in blocks { listed[b["migratetype"] as? String ?? "?", default: 0] += 1 }
        #expect(listed.filter { $0.value > 0 } == blockTable.filter { $0.value > 0 })
        print("real \(version) mixed blocks: \(ours.sorted()) (page_owner text: \(kernelMixed.sorted()))")
    }

    /// 6.1 has one mixed block: the text detail marks it and names the first page of
    /// another type; the CSV tables carry the same counts.
    @Test func detailAndCSVOn61() throws {
        let dir = try RealKernelTests.folder("6.1")
        let text = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore.elf"), "--blocks").text
        let marked = text.split(separator: "\n").filter { $0.hasPrefix("* ") }
        #expect(marked.count == 1)
        #expect(marked.first?.contains("Reclaimable") == true)
        let csv = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore.elf"), "--format", "csv").text
        #expect(csv == "node,zone,table,Unmovable,Movable,Reclaimable,HighAtomic\n0,DMA32,blocks,10,245,1,0\n0,DMA32,mixed,0,0,1,0\n")
    }
}

/// The table text and the gfp → migratetype rule, without a dump.
@Suite struct FragmentationUnitTests {
    @Test func tableLooksLikePagetypeinfo() {
        let zone = MemoryZone(node: 1, index: 2, name: "Normal", startPFN: 0x100000, spannedPages: 0x40000, presentPages: 0x40000)
        let text = FragmentationText.table("Number of mixed blocks ", names: ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"],
                                           [(zone, [3, 0, 12, 0, 1, 1_234_567_890_123])])
        #expect(text == """

            Number of mixed blocks    Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate 
            Node 1, zone   Normal            3            0           12            0            1 1234567890123 

            """)
    }

    @Test func gfpPicksTheMigratetype() {
        let types = MigrateTypes(names: ["Unmovable", "Movable", "Reclaimable", "HighAtomic"], movable: 1, reclaimable: 2, cma: nil,
                                 movableGFP: 0x08, reclaimableGFP: 0x10, groupingDisabled: false)
        #expect(types.of(gfp: 0xcc0) == 0)             // GFP_KERNEL
        #expect(types.of(gfp: 0x140cca) == 1)          // GFP_HIGHUSER_MOVABLE | __GFP_COMP
        #expect(types.of(gfp: 0x10) == 2)              // __GFP_RECLAIMABLE
        #expect(types.of(gfp: 0x18) == 3)              // both bits: the HighAtomic slot
        let flat = MigrateTypes(names: types.names, movable: 1, reclaimable: 2, cma: nil,
                                movableGFP: 0x08, reclaimableGFP: 0x10, groupingDisabled: true)
        #expect(flat.of(gfp: 0x140cca) == 0)           // page_group_by_mobility_disabled
    }
}

/// Fragmentation needs only the kernel model: it runs where page_owner is off or its stack
/// depot cannot be read, and pays for neither.
@Suite struct FragmentationWithoutPageOwnerTests {
    /// A kernel booted without page_owner: the block table alone, as its pagetypeinfo has it.
    @Test(arguments: ["6.12", "5.4"])
    func blockTableWithoutPageOwner(kernel: String) throws {
        let dir = try SimulatedDumps.dump(seed: 5, memory: "64M", ["--no-page-owner", "--kernel", kernel])
        let expected = try String(contentsOf: dir.appendingPathComponent("expected/pagetypeinfo_pageblocks.txt"), encoding: .utf8)
        #expect(expected.contains("Number of blocks type") && !expected.contains("Number of mixed blocks"))
        let result = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text == expected, "\(firstDifference(result.text, expected) ?? "")")
        #expect(result.stderr.contains("without page_owner"))
        let json = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore"), "--format", "json")
        #expect(json.status == 0 && json.text.contains("\"blocks_by_type\"") && !json.text.contains("mixed_blocks_by_type"))
    }

    /// Debian's stock kernel (no page_owner; its 590 MB debug vmlinux), dumped under QEMU by
    /// samples/real-kernel/debian-stock-dump.sh, which `make test` runs: the block table equals
    /// the /proc/pagetypeinfo it printed just before the dump.
    @Test func debianStockKernel() throws {
        let root = ProcessInfo.processInfo.environment["VMOWNER_CACHE"] ?? "/var/cache/vmowner"
        let stock = URL(fileURLWithPath: root).appendingPathComponent("debian-stock")
        let releases = (try? FileManager.default.contentsOfDirectory(atPath: stock.path)) ?? []
        let dir = try #require(releases.sorted().map { stock.appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0.file("pagetypeinfo.txt")) },
            "no Debian stock dump under \(stock.path): run samples/real-kernel/debian-stock-dump.sh (make test does)")
        let kernel = FragmentationRealKernelTests.pageblockPart(try String(contentsOfFile: dir.file("pagetypeinfo.txt"), encoding: .utf8))
        #expect(kernel.contains("Number of blocks type") && !kernel.contains("Number of mixed blocks"))
        let result = try Tools.vmowner("fragmentation", dir.file("vmlinux"), dir.file("vmcore.elf"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.text == kernel, "\(firstDifference(result.text, kernel) ?? "")")
        // Debian builds with CONFIG_DEBUG_INFO_BTF: the dump alone gives the same table.
        let alone = try Tools.vmowner("fragmentation", "--debug-dir", BTFRealKernelTests.emptyDebugDir, dir.file("vmcore.elf"))
        #expect(alone.status == 0 && alone.text == kernel, "\(alone.stderr)")
        try BTFRealKernelTests.expectKnownGlobalsAgree(vmlinux: dir.file("vmlinux"), vmcore: dir.file("vmcore.elf"), btf: nil, label: "Debian stock")
    }

    /// A vmlinux whose symbol table lost the depot's pool array: stacks cannot be listed (exit
    /// 1), page-owner prints its records without stacks and says why; fragmentation never
    /// builds the depot and prints the whole report.
    @Test func unreadableDepotStopsOnlyStacks() throws {
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M")
        var vmlinux = try Data(contentsOf: URL(fileURLWithPath: dir.file("vmlinux")))
        var renamed = 0
        for name in ["stack_pools", "stack_slabs"] {
            let from = Data((name + "\0").utf8), to = Data((name.dropLast() + "Z\0").utf8)
            var at = vmlinux.startIndex
            while let found = vmlinux.range(of: from, in: at..<vmlinux.endIndex) {
                vmlinux.replaceSubrange(found, with: to)
                at = found.upperBound
                renamed += 1
            }
        }
        try #require(renamed > 0)
        let path = SimulatedDumps.root.appendingPathComponent("vmlinux-no-depot-\(UUID().uuidString)").path
        try vmlinux.write(to: URL(fileURLWithPath: path))
        let stacks = try Tools.vmowner("stacks", path, dir.file("vmcore"))
        #expect(stacks.status == 1 && stacks.stderr.contains("symbol stack_"), "\(stacks.stderr)")
        let pageOwner = try Tools.vmowner("page-owner", path, dir.file("vmcore"))
        #expect(pageOwner.status == 0, "\(pageOwner.stderr)")
        #expect(pageOwner.stderr.contains("stack depot cannot be read") && pageOwner.stderr.contains("symbol stack_"), "\(pageOwner.stderr)")
        #expect(pageOwner.text.contains("Page allocated via order"))
        try expectReport(["fragmentation", path, dir.file("vmcore")], equals: dir.appendingPathComponent("expected/pagetypeinfo_pageblocks.txt"),
                         "fragmentation without a depot")
    }
}
