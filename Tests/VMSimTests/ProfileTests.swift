import Foundation
import Testing

/// What each `--kernel` profile must declare and print (kernel-facts §1.1, §1.6, §2.1–§2.3).
struct ProfileCase: CustomStringConvertible, Sendable {
    let kernel: String
    let ownerSize: Int
    let ownerFields: [String]
    let handleFields: [String]
    let recordSize: Int
    let line1: String          // regex of line 1 of an ordinary record
    let hexPfn: Bool
    let memcgLines: Bool
    let showStacks: Bool
    var description: String { kernel }

    static let pre = "^Page allocated via order [0-9]+, mask 0x[0-9a-f]+\\([^)]*\\)"
    static let all: [ProfileCase] = [
        ProfileCase(kernel: "5.4", ownerSize: 16, ownerFields: ["free_handle"], handleFields: ["slabindex : 21", "offset : 10", "valid : 1"],
                    recordSize: 32, line1: pre + "$", hexPfn: false, memcgLines: false, showStacks: false),
        ProfileCase(kernel: "5.10", ownerSize: 16, ownerFields: ["free_handle"], handleFields: ["slabindex : 21", "valid : 1"],
                    recordSize: 32, line1: pre + "$", hexPfn: false, memcgLines: false, showStacks: false),
        ProfileCase(kernel: "5.15", ownerSize: 40, ownerFields: ["ts_nsec", "free_ts_nsec", "pid"], handleFields: ["slabindex : 21", "valid : 1"],
                    recordSize: 24, line1: pre + ", pid [0-9]+, ts [0-9]+ ns, free_ts [0-9]+ ns$", hexPfn: false,
                    memcgLines: false, showStacks: false),
        ProfileCase(kernel: "6.1", ownerSize: 56, ownerFields: ["comm", "tgid", "free_ts_nsec"],
                    handleFields: ["slabindex : 16", "valid : 1", "extra : 5"], recordSize: 24,
                    line1: pre + ", pid [0-9]+, tgid [0-9]+ \\(.*\\), ts [0-9]+ ns, free_ts [0-9]+ ns$", hexPfn: false,
                    memcgLines: true, showStacks: false),
        ProfileCase(kernel: "6.6", ownerSize: 56, ownerFields: ["comm", "tgid"], handleFields: ["pool_index : 16", "valid : 1"],
                    recordSize: 24, line1: pre + ", pid [0-9]+, tgid [0-9]+ \\(.*\\), ts [0-9]+ ns, free_ts [0-9]+ ns$",
                    hexPfn: true, memcgLines: true, showStacks: false),
        ProfileCase(kernel: "6.8", ownerSize: 64, ownerFields: ["free_pid", "free_tgid"], handleFields: ["pool_index : 17", "extra : 5"],
                    recordSize: 544, line1: pre + ", pid [0-9]+, tgid [0-9]+ \\(.*\\), ts [0-9]+ ns$", hexPfn: true,
                    memcgLines: true, showStacks: false),
        ProfileCase(kernel: "6.12", ownerSize: 64, ownerFields: ["free_pid"], handleFields: ["pool_index_plus_1 : 17"],
                    recordSize: 544, line1: pre + ", pid [0-9]+, tgid [0-9]+ \\(.*\\), ts [0-9]+ ns$", hexPfn: true,
                    memcgLines: true, showStacks: true),
        ProfileCase(kernel: "6.19", ownerSize: 64, ownerFields: ["free_pid"], handleFields: ["pool_index_plus_1 : 17"],
                    recordSize: 544, line1: pre + ", pid [0-9]+, tgid [0-9]+ \\(.*\\), ts [0-9]+ ns$", hexPfn: true,
                    memcgLines: true, showStacks: true),
        ProfileCase(kernel: "6.19-swap", ownerSize: 64, ownerFields: ["free_pid"], handleFields: ["pool_index_plus_1 : 17"],
                    recordSize: 544, line1: pre + ", pid [0-9]+, tgid [0-9]+ \\(.*\\), ts [0-9]+ ns( \\(swapped\\))?$",
                    hexPfn: true, memcgLines: true, showStacks: true),
    ]
}

@Suite struct ProfileTests {
    static func dump(_ p: ProfileCase) throws -> URL {
        try SimTools.dump(seed: 2, memory: "64M", ["--kernel", p.kernel])
    }

    /// gdb and pahole read the generation's page_owner, handle bitfields and stack_record, and
    /// every page_owner/stack_record member sits where offsetof() puts it.
    @Test(arguments: ProfileCase.all) func typesAndOffsets(_ p: ProfileCase) throws {
        let dir = try ProfileTests.dump(p)
        let g = try SimTools.run("gdb", ["-batch", "-ex", "ptype struct page_owner", "-ex", "ptype union handle_parts",
                                         "-ex", "print sizeof(struct page_owner)", "-ex", "print sizeof(struct stack_record)",
                                         dir.file("vmlinux")])
        #expect(g.status == 0)
        for f in p.ownerFields + p.handleFields { #expect(g.text.contains(f), "\(p): gdb lacks \(f)") }
        #expect(g.text.contains("$1 = \(p.ownerSize)\n"), "\(p): sizeof(page_owner)")
        #expect(g.text.contains("$2 = \(p.recordSize)\n"), "\(p): sizeof(stack_record)")
        if p.ownerSize < 64 { #expect(!g.text.contains("free_pid")) }
        let ph = try SimTools.run("pahole", ["-C", "page_owner", dir.file("vmlinux")])
        #expect(ph.text.contains("/* size: \(p.ownerSize)"), "\(p): pahole \(ph.text)")

        let decls = try SimTools.vmsim(["--kernel", p.kernel, "--print-c-types"])
        let ownerMembers = ["order", "gfp_mask", "handle", "free_handle"] + p.ownerFields
        let recordMembers = p.recordSize == 544 ? ["hash_list", "size", "handle", "count", "entries"] : ["next", "hash", "handle", "entries"]
        let fields = ownerMembers.map { ("page_owner", $0) } + recordMembers.map { ("stack_record", $0) }
            + [("page", "flags"), ("page", "memcg_data"), ("mem_section", "page_ext")]
        let (got, expected) = try OffsetCheck.dwarfAndOffsetof(vmlinux: dir.file("vmlinux"), declarations: decls.text, fields: fields, work: "offsets-\(p.kernel)")
        #expect(got == expected, "\(p)")
        #expect(got.count == fields.count)
    }

    /// page_owner.txt holds one record per allocated, non-zero-handle block of truth.json, in
    /// pfn order, with the generation's line formats and the block's stack.
    @Test(arguments: ProfileCase.all) func pageOwnerMatchesTruth(_ p: ProfileCase) throws {
        let dir = try ProfileTests.dump(p)
        let truth = try Truth(dir)
        let text = try String(contentsOfFile: dir.file("expected/page_owner.txt"), encoding: .utf8)
        let chunks = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let allocated = truth.blocks.filter { $0.allocated && $0.handle != 0 }
        #expect(chunks.count == allocated.count, "\(p)")
        let line1 = try Regex(p.line1)
        let pfnRegex = p.hexPfn ? try Regex("^PFN 0x([0-9a-f]+) type ") : try Regex("^PFN ([0-9]+) type ")
        var memcgSeen = false
        for (chunk, b) in zip(chunks, allocated) {
            let lines = chunk.split(separator: "\n").map(String.init)
            #expect(lines[0].wholeMatch(of: line1) != nil, "\(p): \(lines[0])")
            #expect(lines[0].hasPrefix("Page allocated via order \(b.order), mask 0x\(String(b.gfp, radix: 16))("))
            if p.ownerSize >= 40 { #expect(lines[0].contains(", pid \(b.pid), ")) }
            if p.ownerSize >= 40 { #expect(lines[0].contains("ts \(b.ts) ns")) }
            if p.ownerSize >= 56 { #expect(lines[0].contains("tgid \(b.tgid) (\(b.comm)), ")) }
            let m = try #require(lines[1].firstMatch(of: pfnRegex), "\(p): \(lines[1])")
            #expect(Int(String(m.output[1].substring ?? ""), radix: p.hexPfn ? 16 : 10) == b.pfn)
            let frames = lines.dropFirst(2).filter { $0.hasPrefix(" ") }.map { String($0.dropFirst()) }
            #expect(frames == truth.stacks[b.handle]?.frames ?? [], "\(p): stack of pfn \(b.pfn)")
            if lines.contains(where: { $0.hasPrefix("Charged ") || $0 == "Slab cache page" }) { memcgSeen = true }
        }
        #expect(memcgSeen == p.memcgLines, "\(p): memcg lines")
        // %pGp: names only before 5.14, node/zone fields after.
        #expect(text.contains("|zone=") == (p.kernel != "5.4" && p.kernel != "5.10"))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("expected"))
        #expect(files.contains("show_stacks.txt") == p.showStacks, "\(p): \(files)")
        #expect(files.contains("show_handles.txt") && files.contains("show_stacks_handles.txt"))
    }

    /// Handles carry the generation's bitfields: the valid bit before 6.8, pool 0 offset 0 as
    /// handle 0 in 6.8.0 (the dummy stack, whose pages page_owner then skips), index + 1 after.
    @Test(arguments: ProfileCase.all) func handleEncoding(_ p: ProfileCase) throws {
        let truth = try Truth(try ProfileTests.dump(p))
        let handles = truth.stacks.keys.sorted()
        #expect(handles.count > 50)
        switch p.kernel {
        case "5.4", "5.10", "5.15": #expect(handles.allSatisfy { $0 >> 31 == 1 })
        case "6.1", "6.6": #expect(handles.allSatisfy { ($0 >> 26) & 1 == 1 && $0 >> 27 == 0 })
        case "6.8":
            #expect(handles.contains(0))
            #expect(truth.blocks.contains { $0.allocated && $0.handle == 0 })
        default: #expect(handles.allSatisfy { $0 & 0x1ffff >= 1 })
        }
    }

    /// VMCOREINFO follows the generation: PageBuddy encoding, BUILD-ID and kallsyms symbols.
    @Test(arguments: ProfileCase.all) func vmcoreinfoByGeneration(_ p: ProfileCase) throws {
        let info = try vmcoreinfo(try ProfileTests.dump(p).appendingPathComponent("vmcore"))
        let newTypes = p.kernel.hasPrefix("6.12") || p.kernel.hasPrefix("6.19")
        #expect(info["NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"] == (newTypes ? "\(Int32(bitPattern: 0xf000_0000))" : "-129"))
        #expect((info["BUILD-ID"] != nil) == (p.kernel != "5.4"))
        #expect((info["SYMBOL(kallsyms_names)"] != nil) == !p.kernel.hasPrefix("5."))
        #expect(info["OSRELEASE"] == "\(p.kernel.split(separator: "-")[0]).0-vmsim")
    }
}

@Suite struct SwapProfileTests {
    /// swap_page_owner.txt lists records in ascending swap-entry order over two swap types;
    /// show_stacks_swap adds exactly the swapped-out pages to show_stacks; swapped-in records
    /// end line 1 with " (swapped)"; the xarray and its record type are in the DWARF.
    @Test func swapFilesAgree() throws {
        let dir = try SimTools.dump(seed: 2, memory: "64M", ["--kernel", "6.19-swap"])
        let swapText = try String(contentsOfFile: dir.file("expected/swap_page_owner.txt"), encoding: .utf8)
        let keys = swapText.split(separator: "\n").filter { $0.hasPrefix("SWP entry 0x") }
            .compactMap { UInt64($0.dropFirst("SWP entry 0x".count), radix: 16) }
        #expect(keys.count > 100)
        #expect(keys == keys.sorted() && Set(keys).count == keys.count)
        #expect(keys.contains { $0 >> 58 == 0 } && keys.contains { $0 >> 58 == 1 })
        #expect(swapText.hasPrefix("Page allocated via pid "))
        func total(_ f: String) throws -> Int {
            try String(contentsOfFile: dir.file("expected/\(f)"), encoding: .utf8).split(separator: "\n")
                .filter { $0.hasPrefix("nr_base_pages: ") }.compactMap { Int($0.dropFirst(15)) }.reduce(0, +)
        }
        #expect(try total("show_stacks_swap.txt") - total("show_stacks.txt") == keys.count)
        let po = try String(contentsOfFile: dir.file("expected/page_owner.txt"), encoding: .utf8)
        #expect(po.components(separatedBy: " ns (swapped)\n").count > 50)
        let g = try SimTools.run("gdb", ["-batch", "-ex", "ptype struct swap_page_owner", "-ex", "ptype struct xa_node",
                                         "-ex", "print PAGE_EXT_OWNER_SWAPPED", "-ex", "ptype swap_page_owner_xa", dir.file("vmlinux")])
        for s in ["depot_stack_handle_t handle;", "char comm[16];", "void *slots[64];", "= PAGE_EXT_OWNER_SWAPPED", "void *xa_head;"] {
            #expect(g.text.contains(s), "gdb lacks \(s)")
        }
    }
}
