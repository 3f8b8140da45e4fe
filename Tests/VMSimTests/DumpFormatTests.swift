import Foundation
import Testing

/// The dump as tools that are not ours see it: readelf, gdb, pahole, nm, gcc.
@Suite struct DumpFormatTests {
    @Test func readelfListsTheNotes() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M")
        let r = try SimTools.run("readelf", ["-n", dir.file("vmcore")])
        #expect(r.status == 0)
        #expect(r.text.components(separatedBy: "NT_PRSTATUS").count - 1 == 2)
        #expect(r.text.contains("VMCOREINFO"))
        let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
        #expect(info["OSRELEASE"] == "6.12.0-vmsim")
        #expect(info["PAGESIZE"] == "4096")
        #expect(info["NUMBER(SECTION_SIZE_BITS)"] == "27")
        #expect(info["LENGTH(mem_section)"] == "4096")
        #expect(info["SIZE(page)"] == "64")
        #expect(info["NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)"] == "-268435456")
        #expect(info["SYMBOL(swapper_pg_dir)"] == info["SYMBOL(init_top_pgt)"])
        let offset = try #require(info["KERNELOFFSET"].flatMap { UInt64($0, radix: 16) })
        #expect(offset % (2 << 20) == 0 && offset > 0)
        // SYMBOL() values are runtime addresses: the vmlinux address plus KERNELOFFSET.
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        let stext = try #require(nm.text.split(separator: "\n").first { $0.hasSuffix(" _stext") })
        let link = try #require(UInt64(stext.split(separator: " ")[0], radix: 16))
        #expect(info["SYMBOL(_stext)"] == String(link + offset, radix: 16))
        // The BUILD-ID matches the vmlinux note.
        let notes = try SimTools.run("readelf", ["-n", dir.file("vmlinux")])
        #expect(notes.text.contains("Build ID: \(info["BUILD-ID"] ?? "?")"))
    }

    @Test func loadSegmentsCoverRAMWithHoles() throws {
        let dir = try SimTools.dump(seed: 5, memory: "1G")
        let r = try SimTools.run("readelf", ["-lW", dir.file("vmcore")])
        let loads = r.text.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("LOAD") }
        #expect(loads.count == 3)   // low RAM, below and above the missing section
        #expect(r.text.contains("0x0000000000001000"))
        // Sparse on disk: far less than its apparent size.
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.file("vmcore"))
        let apparent = (attrs[.size] as? NSNumber)?.int64Value ?? 0
        var st = stat()
        #expect(stat(dir.file("vmcore"), &st) == 0)
        #expect(apparent > 1000 << 20)
        #expect(Int64(st.st_blocks) * 512 < apparent / 8)
    }

    @Test func gdbAndPaholeReadTheTypes() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M")
        let g = try SimTools.run("gdb", ["-batch", "-ex", "ptype struct page_owner", "-ex", "ptype union handle_parts",
                                         "-ex", "print sizeof(struct stack_record)", dir.file("vmlinux")])
        #expect(g.status == 0)
        for field in ["unsigned short order;", "short last_migrate_reason;", "gfp_t gfp_mask;",
                      "depot_stack_handle_t free_handle;", "u64 free_ts_nsec;", "char comm[16];", "pid_t free_tgid;",
                      "u32 pool_index_plus_1 : 17;", "u32 offset : 10;", "u32 extra : 5;", "= 544"] {
            #expect(g.text.contains(field), "gdb output lacks \(field)")
        }
        let p = try SimTools.run("pahole", ["-C", "page", dir.file("vmlinux")])
        #expect(p.status == 0)
        #expect(p.text.contains("/* size: 64"))
        #expect(p.text.contains("memcg_data"))
        let m = try SimTools.run("pahole", ["-C", "mem_section", dir.file("vmlinux")])
        #expect(m.text.contains("/* size: 32"))
    }

    /// The offsets in the DWARF equal offsetof() in a C program compiled from the same
    /// declarations (printed by vmsim itself).
    @Test func dwarfOffsetsMatchOffsetof() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M")
        let decls = try SimTools.vmsim(["--print-c-types"])
        #expect(decls.status == 0)
        let fields: [(String, String)] = [
            ("page", "flags"), ("page", "private"), ("page", "page_type"), ("page", "_refcount"), ("page", "memcg_data"),
            ("page_owner", "handle"), ("page_owner", "ts_nsec"), ("page_owner", "comm"), ("page_owner", "free_pid"),
            ("stack_record", "hash_list"), ("stack_record", "size"), ("stack_record", "handle"), ("stack_record", "count"),
            ("stack_record", "entries"), ("mem_section", "page_ext"), ("mem_section_usage", "pageblock_flags"),
            ("module", "list"), ("module", "name"), ("module", "mem"), ("module", "kallsyms"), ("mod_kallsyms", "strtab"),
            ("kernfs_node", "parent"), ("kernfs_node", "name"), ("cgroup", "kn"), ("mem_cgroup", "css"),
            ("cgroup_subsys_state", "flags"), ("obj_cgroup", "memcg"), ("pglist_data", "node_start_pfn"), ("zone", "free_area"),
        ]
        let (got, expected) = try OffsetCheck.dwarfAndOffsetof(vmlinux: dir.file("vmlinux"), declarations: decls.text, fields: fields, work: "offsets")
        #expect(got == expected)
        #expect(got.count == fields.count)
    }

    /// %pS uses the kallsyms size (distance to the next symbol), not the ELF st_size.
    @Test func stackSizesAreKallsymsSizes() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M")
        let nm = try SimTools.run("nm", ["-S", dir.file("vmlinux")])
        let line = try #require(nm.text.split(separator: "\n").first { $0.hasSuffix(" T post_alloc_hook") })
        #expect(line.split(separator: " ")[1] == "0000000000000128")
        let text = try String(contentsOfFile: dir.file("expected/page_owner.txt"), encoding: .utf8)
        #expect(text.contains(" post_alloc_hook+0x"))
        #expect(!text.contains("post_alloc_hook+0x") || text.contains("/0x130\n"))
        #expect(text.contains("entry_SYSCALL_64_after_hwframe+0x"))
        #expect(text.contains(" [brd]\n"))
    }

    @Test func sameSeedSameBytes() throws {
        let a = try SimTools.dump(seed: 7, memory: "64M", fresh: "a")
        let b = try SimTools.dump(seed: 7, memory: "64M", fresh: "b")
        let c = try SimTools.dump(seed: 8, memory: "64M")
        for f in ["vmlinux", "vmcore", "expected/page_owner.txt", "expected/truth.json", "expected/show_stacks.txt"] {
            #expect(FileManager.default.contentsEqual(atPath: a.file(f), andPath: b.file(f)), "\(f) differs")
        }
        #expect(!FileManager.default.contentsEqual(atPath: a.file("vmcore"), andPath: c.file("vmcore")))
    }

    @Test func withoutPageOwner() throws {
        let dir = try SimTools.dump(seed: 1, memory: "64M", ["--no-page-owner"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("expected/page_owner.txt")))
        let truth = try Truth(dir)
        #expect(truth.blocks.isEmpty && truth.stacks.isEmpty)
        let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
        #expect(info["OSRELEASE"] == "6.12.0-vmsim")
    }
}

extension URL {
    func file(_ name: String) -> String { appendingPathComponent(name).path }
}
