import Foundation
import Testing

/// vmsim --format and --exclude, checked with tools that are not ours (Debian's makedumpfile
/// 1.7.2, readelf) and with the reader. makedumpfile re-reads a dump it is given (an ELF
/// vmcore or a kdump-compressed file) and writes it again; when our files equal what it writes
/// byte for byte, every header field, bitmap, descriptor and compressed page is as it makes them.
@Suite struct FormatsTests {
    static let seed = 1
    static let memory = "64M"

    static func dump(_ format: String, exclude: Bool = false, model: String = "sparse-extreme") throws -> URL {
        let modelArgs = model == "sparse-extreme" ? [] : ["--memory-model", model]
        return try SimTools.dump(seed: seed, memory: memory, ["--format", format] + (exclude ? ["--exclude"] : []) + modelArgs)
    }

    /// Runs makedumpfile (quietly) and returns the file it wrote.
    static func makedumpfile(_ args: [String], input: URL, name: String) throws -> URL {
        let out = SimTools.root.appendingPathComponent("mdf-\(name)")
        try? FileManager.default.removeItem(at: out)
        let r = try SimTools.run("makedumpfile", ["--message-level", "4"] + args + [input.path, out.path])
        guard r.status == 0 else { throw SimTools.Failed(description: "makedumpfile \(args) failed: \(r.text)\(r.stderr)") }
        return out
    }

    static func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    @Test func kdumpEqualsWhatMakedumpfileWritesFromTheELF() throws {
        let elf = try FormatsTests.dump("elf").appendingPathComponent("vmcore")
        // -d 1 is the level at which makedumpfile shares one zero page, as our files do.
        for (format, flag) in [("kdump-zlib", "-c"), ("kdump-lzo", "-l")] {
            let ours = try FormatsTests.dump(format).appendingPathComponent("vmcore")
            let theirs = try FormatsTests.makedumpfile([flag, "-d", "1"], input: elf, name: format)
            let a = try FormatsTests.bytes(ours), b = try FormatsTests.bytes(theirs)
            #expect(a.count == b.count, "\(format): \(a.count) bytes, makedumpfile wrote \(b.count)")
            #expect(a == b, "\(format) differs from makedumpfile \(flag) -d 1")
        }
    }

    @Test func flatRebuildsToTheKdumpFile() throws {
        for exclude in [false, true] {
            let flat = try FormatsTests.dump("flat", exclude: exclude).appendingPathComponent("vmcore")
            let kdump = try FormatsTests.dump("kdump-zlib", exclude: exclude).appendingPathComponent("vmcore")
            let head = try FormatsTests.bytes(flat).prefix(32)
            #expect(head.prefix(12) == Data("makedumpfile".utf8))
            #expect(Array(head[16..<32]) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])
            // makedumpfile -R reads the stream on stdin.
            let out = SimTools.root.appendingPathComponent("rebuilt-\(exclude)")
            try? FileManager.default.removeItem(at: out)
            let r = try SimTools.run("/bin/sh", ["-c", "makedumpfile --message-level 4 -R '\(out.path)' < '\(flat.path)'"])
            #expect(r.status == 0, "makedumpfile -R: \(r.stderr)")
            #expect(try FormatsTests.bytes(out) == FormatsTests.bytes(kdump), "flat (exclude \(exclude)) does not rebuild to kdump-zlib")
        }
    }

    @Test func headersOfEveryCompression() throws {
        let info = try vmcoreinfo(FormatsTests.dump("elf").appendingPathComponent("vmcore"))
        var zeroPages: Int? = nil
        for (format, flag) in [("kdump-zlib", 1), ("kdump-lzo", 2), ("kdump-snappy", 4), ("kdump-zstd", 0x20)] {
            let k = try KdumpFile(FormatsTests.dump(format).appendingPathComponent("vmcore"))
            #expect(k.signature == "KDUMP   ")
            #expect(k.u32(8) == 6)                       // header_version
            #expect(k.u32(424) == UInt32(flag))          // status: the compressor
            #expect(k.u32(428) == 4096)                  // block_size
            #expect(k.sub64(0) == UInt64(bitPattern: Int64(info["NUMBER(phys_base)"] ?? "") ?? -1))
            #expect(k.sub32(8) == 1)                     // dump_level
            #expect(k.sub64(96) == 0x4000)               // max_mapnr_64: 64 MiB
            #expect(k.vmcoreinfo.hasPrefix("OSRELEASE=6.12.0-vmsim\n"))
            #expect(k.vmcoreinfo.contains("CRASHTIME="))
            let ram = k.bitmap(first: true), dumped = k.bitmap(first: false)
            #expect(ram == dumped)                       // nothing left out
            #expect(ram.count == 0x9f - 1 + 0x4000 - 0x100)
            // Every page has a descriptor; zero pages share the first data page, the rest use the
            // named compressor or are raw.
            let descs = k.descriptors(count: dumped.count)
            let zeroOffset = descs.map(\.offset).min()!
            let zeros = descs.filter { $0.offset == zeroOffset }
            #expect(zeros.allSatisfy { $0.size == 4096 && $0.flags == 0 })
            #expect(Set(descs.map(\.flags)).isSubset(of: [0, UInt32(flag)]))
            #expect(descs.filter { $0.flags == UInt32(flag) }.count > 500)
            if let z = zeroPages { #expect(zeros.count == z) } else { zeroPages = zeros.count }
        }
    }

    @Test func sameSeedSameBytesWithTwoThreads() throws {
        let a = try FormatsTests.dump("kdump-zstd").appendingPathComponent("vmcore")
        let b = try SimTools.dump(seed: FormatsTests.seed, memory: FormatsTests.memory, ["--format", "kdump-zstd"], fresh: "again")
        #expect(try FormatsTests.bytes(a) == FormatsTests.bytes(b.appendingPathComponent("vmcore")))
    }

    /// --exclude against makedumpfile -d 31 run on our full dump: the same pages hold data,
    /// except pages the simulator fills with kernel data after its pfn map was built (their
    /// struct pages say free, so makedumpfile drops them; we keep them) and LRU folio tails,
    /// which makedumpfile 1.7.2 keeps as zero pages (it finds no folio order in VMCOREINFO).
    /// makedumpfile finds the struct pages its own way in each memory model (mem_section roots,
    /// the static mem_section array, FLATMEM's mem_map), so agreeing checks all three.
    @Test(arguments: ["sparse-extreme", "sparse-no-vmemmap", "sparse-static", "flat"])
    func excludeAgreesWithMakedumpfileLevel31(model: String) throws {
        let full = try FormatsTests.dump("kdump-zlib", model: model).appendingPathComponent("vmcore")
        let theirs = try KdumpFile(FormatsTests.makedumpfile(["-c", "-d", "31"], input: full, name: "d31-\(model)"))
        let ours = try KdumpFile(FormatsTests.dump("kdump-zlib", exclude: true, model: model).appendingPathComponent("vmcore"))
        #expect(ours.sub32(8) == 31)
        let a = ours.pages(), b = theirs.pages()
        let ram = ours.bitmap(first: true)
        // The static mem_section array is 16 MiB of kernel image (4096 pages) kept on top.
        let staticTablePages = model == "sparse-static" ? 4096 : 0
        #expect(a.count < ram.count / 2 + staticTablePages, "exclude kept \(a.count) of \(ram.count) pages")
        for (pfn, page) in b where !page.isZero {
            #expect(a[pfn]?.data == page.data, "pfn \(pfn): makedumpfile kept data we lack")
        }
        let onlyTheirs = b.keys.filter { a[$0] == nil }
        #expect(onlyTheirs.allSatisfy { b[$0]!.isZero }, "makedumpfile kept non-zero pages we dropped")
        // The late memblock pages (mem_section roots, pglist_data...), some of them zero.
        let onlyOurs = a.keys.filter { b[$0] == nil }
        #expect(onlyOurs.count < 64, "\(onlyOurs.count) pages kept against makedumpfile")
    }

    @Test func filteredELFHasTheFullDumpsBytes() throws {
        let full = try FormatsTests.bytes(FormatsTests.dump("elf").appendingPathComponent("vmcore"))
        let url = try FormatsTests.dump("elf", exclude: true).appendingPathComponent("vmcore")
        let r = try SimTools.run("readelf", ["-lW", url.path])
        #expect(r.status == 0)
        let filtered = try FormatsTests.bytes(url)
        #expect(filtered.count < full.count / 8)
        let loads = try ELFLoads(filtered), fullLoads = try ELFLoads(full)
        #expect(loads.segments.count == r.text.split(separator: "\n").filter { $0.contains("LOAD") }.count)
        #expect(loads.segments.contains { $0.filesz < $0.memsz })
        var checked = 0
        for s in loads.segments {
            var pa = s.paddr
            while pa < s.paddr + s.filesz {
                let o = Int(s.offset + (pa - s.paddr))
                let f = Int(try #require(fullLoads.fileOffset(pa)))
                #expect(filtered[o..<(o + 4096)] == full[f..<(f + 4096)], "page 0x\(String(pa, radix: 16)) differs")
                pa += 4096
                checked += 1
            }
        }
        #expect(checked > 700)
    }

    @Test func readerPrintsTheSamePageOwnerFromEveryFormat() throws {
        let elf = try FormatsTests.dump("elf")
        let expected = try String(contentsOf: elf.appendingPathComponent("expected/page_owner.txt"), encoding: .utf8)
        #expect(expected.count > 10_000)
        let variants: [(String, Bool)] = ["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy", "kdump-zstd", "flat"].map { ($0, false) }
            + ["elf", "kdump-zlib", "flat"].map { ($0, true) }
        for (format, exclude) in variants {
            let dir = try FormatsTests.dump(format, exclude: exclude)
            let r = try SimTools.run(SimTools.products.appendingPathComponent("vmowner").path,
                                     ["page-owner", elf.file("vmlinux"), dir.file("vmcore")])
            #expect(r.status == 0, "\(format) exclude \(exclude): \(r.stderr)")
            #expect(r.text == expected, "\(format) exclude \(exclude): page_owner text differs")
            // expected/ depends on the seed only.
            for name in ["page_owner.txt", "show_stacks.txt", "truth.json"] {
                let a = try Data(contentsOf: dir.appendingPathComponent("expected/\(name)"))
                #expect(a == (try Data(contentsOf: elf.appendingPathComponent("expected/\(name)"))), "\(format): expected/\(name) differs")
            }
        }
    }
}
