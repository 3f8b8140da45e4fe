import Foundation
import Testing

/// A granule and VA size of `vmsim --arch arm64`, with a machine size that gives it a few
/// pageblocks of each migratetype (a 64K pageblock is 512 MiB).
struct ARM64Config: CustomTestStringConvertible, Sendable {
    let granule: String
    let vaBits: UInt64
    var pageShift: UInt64 { granule == "4K" ? 12 : granule == "16K" ? 14 : 16 }
    var memory: String { granule == "4K" ? "256M" : granule == "16K" ? "512M" : "1G" }
    var testDescription: String { "\(granule)/\(vaBits)" }
    var args: [String] { ["--arch", "arm64", "--granule", granule, "--va-bits", String(vaBits)] }

    /// Every VA size the kernel offers per granule (36-bit 16K aside).
    static let all: [ARM64Config] = [("4K", 39), ("4K", 48), ("4K", 52), ("16K", 47), ("16K", 48), ("16K", 52),
                                     ("64K", 42), ("64K", 48), ("64K", 52)].map { ARM64Config(granule: $0.0, vaBits: $0.1) }
}

/// arm64 dumps read back with our own minimal code (ELF core, VMCOREINFO, a stage-1 walker
/// written from the Arm ARM's descriptor formats) and with readelf, nm and pahole.
@Suite struct ARM64Tests {
    static func dump(_ c: ARM64Config, seed: Int = 1, kernel: String = "6.12", _ extra: [String] = []) throws -> URL {
        try SimTools.dump(seed: seed, memory: c.memory, c.args + ["--kernel", kernel] + extra)
    }

    static func hex(_ s: String?) -> UInt64? { s.flatMap { UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) } }

    /// VMCOREINFO as arm64's arch_crash_save_vmcoreinfo of 6.12 writes it, and no x86 key.
    @Test(arguments: ARM64Config.all)
    func vmcoreinfoKeys(_ c: ARM64Config) throws {
        let dir = try Self.dump(c)
        let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
        #expect(info["PAGESIZE"] == String(1 << c.pageShift))
        #expect(info["NUMBER(VA_BITS)"] == String(c.vaBits))
        #expect(info["NUMBER(TCR_EL1_T1SZ)"] == "0x" + String(64 - c.vaBits, radix: 16))
        #expect(info["NUMBER(SECTION_SIZE_BITS)"] == (c.pageShift == 16 ? "29" : "27"))
        #expect(info["NUMBER(MAX_PHYSMEM_BITS)"] == (c.vaBits == 52 ? "52" : "48"))
        for key in ["NUMBER(phys_base)", "SYMBOL(init_top_pgt)", "NUMBER(pgtable_l5_enabled)", "NUMBER(sme_mask)",
                    "NUMBER(KERNEL_IMAGE_SIZE)", "SYMBOL(node_data)"] {
            #expect(info[key] == nil, "x86 key \(key)")
        }
        for key in ["NUMBER(kimage_voffset)", "NUMBER(PHYS_OFFSET)", "NUMBER(KERNELPACMASK)", "NUMBER(MODULES_VADDR)",
                    "NUMBER(VMEMMAP_START)", "NUMBER(VMALLOC_END)"] {
            #expect(info[key]?.hasPrefix("0x") == true, "\(key) not 0x-hex")
        }
        let pac = try #require(Self.hex(info["NUMBER(KERNELPACMASK)"]))
        #expect(pac == 0 || pac == ~((UInt64(1) << c.vaBits) - 1))
        // 6.12: VMEMMAP_END is -1 GiB; the struct page of pfn 0 is SYMBOL(vmemmap).
        let vmemmapStart = try #require(Self.hex(info["NUMBER(VMEMMAP_START)"]))
        #expect(info["NUMBER(VMEMMAP_END)"] == "0xffffffffc0000000")
        let physOffset = try #require(Self.hex(info["NUMBER(PHYS_OFFSET)"]))
        let pfn0 = UInt64(bitPattern: Int64(bitPattern: physOffset) >> Int64(c.pageShift))
        #expect(Self.hex(info["SYMBOL(vmemmap)"]) == vmemmapStart &- pfn0 &* 64)
        // The image is linked at KIMAGE_VADDR = _PAGE_END(VA_BITS_MIN) + 2 GiB and slid by KERNELOFFSET.
        let vaMin: UInt64 = c.vaBits > 48 ? (c.pageShift == 14 ? 47 : 48) : c.vaBits
        let kimage = (0 &- (UInt64(1) << (vaMin - 1))) &+ (2 << 30)
        #expect(Self.hex(info["NUMBER(MODULES_END)"]) == kimage)
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        let text = try #require(nm.text.split(separator: "\n").first { $0.hasSuffix(" T _text") || $0.hasSuffix(" _text") })
        #expect(UInt64(text.split(separator: " ")[0], radix: 16) == kimage)
        let offset = try #require(Self.hex(info["KERNELOFFSET"]))
        #expect(offset % (2 << 20) == 0 && offset > 0)
        #expect(Self.hex(info["SYMBOL(_stext)"]) == kimage &+ offset)
    }

    /// Linux 6.1: VMALLOC_START in the arch part, VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)),
    /// 128 MiB of modules, no SYMBOL(vmemmap).
    @Test(arguments: [ARM64Config(granule: "4K", vaBits: 48), ARM64Config(granule: "64K", vaBits: 52)])
    func kernel61Keys(_ c: ARM64Config) throws {
        let info = try vmcoreinfo(try Self.dump(c, kernel: "6.1").appendingPathComponent("vmcore"))
        #expect(info["OSRELEASE"] == "6.1.0-vmsim")
        #expect(info["SYMBOL(vmemmap)"] == nil)
        let start = try #require(Self.hex(info["NUMBER(VMEMMAP_START)"]))
        #expect(start == 0 &- (UInt64(1) << (c.vaBits - (c.pageShift - 6))))
        let modules = try #require(Self.hex(info["NUMBER(MODULES_VADDR)"]))
        #expect(Self.hex(info["NUMBER(MODULES_END)"]) == modules + (128 << 20))
        #expect(Self.hex(info["NUMBER(VMALLOC_START)"]) == modules + (128 << 20))
    }

    /// The linear map is randomized on most seeds (a 40-bit CPU under a 47-bit linear region):
    /// PHYS_OFFSET then lies below RAM, often below zero; the map still reaches all of RAM.
    @Test func negativePhysOffset() throws {
        let c = ARM64Config(granule: "4K", vaBits: 48)
        var negative = 0
        for seed in 1...4 {
            let dir = try Self.dump(c, seed: seed)
            let info = try vmcoreinfo(dir.appendingPathComponent("vmcore"))
            let physOffset = try #require(Self.hex(info["NUMBER(PHYS_OFFSET)"]))
            #expect(physOffset % (1 << 30) == 0)
            if physOffset >= 1 << 63 { negative += 1 } else { #expect(physOffset == 0x4000_0000) }
            let walker = try StageOneWalker(dir.appendingPathComponent("vmcore"))
            let va = (0 &- (UInt64(1) << 48)) &+ (0x4000_0000 &- physOffset)
            #expect(try walker.translate(va).pa == 0x4000_0000)
        }
        #expect(negative > 0)
    }

    /// Everything the reader needs is reachable through swapper_pg_dir: the linear map, the
    /// image, vmemmap, the module and the vmalloc'd page_ext; descriptors carry the granule's
    /// block sizes and LPA2's lack of shareability bits.
    @Test(arguments: ARM64Config.all)
    func pageTablesWalk(_ c: ARM64Config) throws {
        let dir = try Self.dump(c)
        let vmcore = dir.appendingPathComponent("vmcore")
        let info = try vmcoreinfo(vmcore)
        let w = try StageOneWalker(vmcore)
        #expect(w.levels == Int((c.vaBits - c.pageShift + c.pageShift - 4) / (c.pageShift - 3)))
        // init_uts_ns through the image mapping (text mapped read-only, data not).
        let uts = try #require(Self.hex(info["SYMBOL(init_uts_ns)"]))
        #expect(String(decoding: try w.read(uts, 5), as: UTF8.self) == "Linux")
        // The linear map: the first and last page of RAM, PA = VA - PAGE_OFFSET + PHYS_OFFSET.
        let physOffset = try #require(Self.hex(info["NUMBER(PHYS_OFFSET)"]))
        let pageOffset = 0 &- (UInt64(1) << c.vaBits)
        let ramEnd = 0x4000_0000 + (c.pageShift == 12 ? 256 << 20 : c.pageShift == 14 ? 512 << 20 : UInt64(1) << 30)
        for pa in [UInt64(0x4000_0000), ramEnd - (1 << c.pageShift)] {
            let t = try w.translate(pageOffset &+ (pa &- physOffset))
            #expect(t.pa == pa)
        }
        // mem_section's root array lives in the linear map; vmemmap's struct page of RAM's
        // first pfn (reserved or in use: refcount or buddy page type set).
        let roots = try #require(Self.hex(info["SYMBOL(mem_section)"]))
        _ = try w.translate(roots)
        let vmemmap = try #require(Self.hex(info["SYMBOL(vmemmap)"]))
        let page = try w.read(vmemmap &+ (0x4000_0000 >> c.pageShift) * 64, 64)
        #expect(page[48..<56].contains { $0 != 0 })
        // The module: `modules` points at brd's struct module in [MODULES_VADDR, MODULES_END).
        let nm = try SimTools.run("nm", [dir.file("vmlinux")])
        let modulesLine = try #require(nm.text.split(separator: "\n").first { $0.hasSuffix(" modules") })
        let offset = try #require(Self.hex(info["KERNELOFFSET"]))
        let modulesVA = try #require(UInt64(modulesLine.split(separator: " ")[0], radix: 16)) &+ offset
        let first = try w.read(modulesVA, 8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let lo = try #require(Self.hex(info["NUMBER(MODULES_VADDR)"])), hi = try #require(Self.hex(info["NUMBER(MODULES_END)"]))
        #expect(first >= lo && first < hi)
        _ = try w.translate(first)
        // Blocks and pages both occur; shareability bits only without LPA2.
        #expect(w.seen.contains { $0.level == 0 })
        #expect(w.seen.contains { $0.level > 0 && $0.descriptor & 3 == 1 })
        for s in w.seen where s.descriptor & 3 == 1 || s.level == 0 {
            #expect((s.descriptor >> 8) & 3 == (c.vaBits == 52 && c.pageShift != 16 ? 0 : 3))
            #expect(s.descriptor & (1 << 10) != 0)   // AF
        }
    }

    /// The vmlinux is an AArch64 ELF whose DWARF has the granule's depot handle layout.
    @Test(arguments: [ARM64Config(granule: "4K", vaBits: 48), ARM64Config(granule: "16K", vaBits: 47),
                      ARM64Config(granule: "64K", vaBits: 42)])
    func vmlinuxIsAArch64(_ c: ARM64Config) throws {
        let dir = try Self.dump(c)
        let h = try SimTools.run("readelf", ["-h", dir.file("vmlinux")])
        #expect(h.text.contains("AArch64"))
        let core = try SimTools.run("readelf", ["-hn", dir.file("vmcore")])
        #expect(core.text.contains("AArch64"))
        #expect(core.text.components(separatedBy: "NT_PRSTATUS").count - 1 == 2)
        #expect(core.text.contains("0x00000188\tNT_PRSTATUS"))   // sizeof(struct elf_prstatus) on arm64
        // NODES_SHIFT 4 (arm64's default): node_data[16].
        let syms = try SimTools.run("readelf", ["-sW", dir.file("vmlinux")])
        let nodeData = try #require(syms.text.split(separator: "\n").first { $0.hasSuffix(" node_data") })
        #expect(nodeData.split(separator: " ")[2] == "128", "\(nodeData)")
        let p = try SimTools.run("pahole", ["-C", "handle_parts", dir.file("vmlinux")])
        #expect(p.status == 0)
        #expect(p.text.contains("offset:\(c.pageShift - 2)"), "\(p.text)")
        #expect(p.text.contains("pool_index_plus_1:\(27 - (c.pageShift - 2))"), "\(p.text)")
    }

    /// kdump-compressed: utsname machine "aarch64", block_size the page size, phys_base
    /// PHYS_OFFSET in the sub header.
    @Test(arguments: [ARM64Config(granule: "4K", vaBits: 48), ARM64Config(granule: "64K", vaBits: 48)])
    func kdumpHeader(_ c: ARM64Config) throws {
        let dir = try Self.dump(c, ["--format", "kdump-zlib"])
        let h = try FileHandle(forReadingFrom: dir.appendingPathComponent("vmcore"))
        defer { try? h.close() }
        let head = [UInt8](h.readData(ofLength: (1 << c.pageShift) + 64))
        func u(_ o: Int, _ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 | UInt64(head[o + $1]) << (8 * UInt64($1)) } }
        #expect(String(decoding: head[0..<8], as: UTF8.self) == "KDUMP   ")
        let machineAt = 12 + 65 * 4
        #expect(String(decoding: head[machineAt..<(machineAt + 7)], as: UTF8.self) == "aarch64")
        #expect(u(428, 4) == 1 << c.pageShift)
        let elf = try vmcoreinfo(try Self.dump(c).appendingPathComponent("vmcore"))
        #expect(u(1 << Int(c.pageShift), 8) == Self.hex(elf["NUMBER(PHYS_OFFSET)"]))
    }

    /// x86_64 options are refused with arm64 where they make no sense.
    @Test func rejectsImpossibleCombinations() throws {
        let out = SimTools.root.appendingPathComponent("arm64-bad").path
        for extra in [["--granule", "4K", "--va-bits", "42"], ["--granule", "16K", "--va-bits", "39"],
                      ["--granule", "8K"], ["--kernel", "5.15"], ["--memory-model", "flat"]] {
            let r = try SimTools.vmsim(["--arch", "arm64", "--memory", "64M", "--out", out] + extra)
            #expect(r.status != 0, "\(extra) accepted")
        }
    }
}

/// A walker of arm64 stage-1 tables for TTBR1 written from the architecture's descriptor
/// formats (not from vmsim's code): the root is swapper_pg_dir's PA (its symbol less
/// kimage_voffset), the VA size 64 - TCR_EL1_T1SZ, output addresses with LPA2 (4K/16K, 52-bit)
/// or LPA (64K, 52-bit) high bits.
final class StageOneWalker {
    let pageShift: UInt64
    let vaBits: UInt64
    let levels: Int
    private let root: UInt64
    private let loads: ELFLoads
    private let file: FileHandle
    private(set) var seen: [(level: Int, descriptor: UInt64)] = []

    init(_ vmcore: URL) throws {
        let info = try vmcoreinfo(vmcore)
        guard let ps = info["PAGESIZE"].flatMap({ UInt64($0) }), let t1sz = ARM64Tests.hex(info["NUMBER(TCR_EL1_T1SZ)"]),
              let kvo = ARM64Tests.hex(info["NUMBER(kimage_voffset)"]), let pgd = ARM64Tests.hex(info["SYMBOL(swapper_pg_dir)"]) else {
            throw SimTools.Failed(description: "VMCOREINFO lacks the arm64 translation keys")
        }
        pageShift = UInt64(ps.trailingZeroBitCount)
        vaBits = 64 - t1sz
        levels = Int((vaBits - pageShift + (pageShift - 3) - 1) / (pageShift - 3))
        root = pgd &- kvo
        file = try FileHandle(forReadingFrom: vmcore)
        loads = try ELFLoads(file.readData(ofLength: 1 << 16))
    }

    deinit { try? file.close() }

    func readPhysical(_ pa: UInt64, _ n: Int) throws -> Data {
        guard let o = loads.fileOffset(pa) else { throw SimTools.Failed(description: "PA 0x\(String(pa, radix: 16)) not in the dump") }
        try file.seek(toOffset: o)
        return file.readData(ofLength: n)
    }

    private func outputAddress(_ d: UInt64) -> UInt64 {
        let low = d & (((1 << 50) - 1) & ~((1 << pageShift) - 1))
        if vaBits == 52 && pageShift != 16 { return low | ((d >> 8) & 3) << 50 }
        if vaBits == 52 { return low | ((d >> 12) & 0xf) << 48 }
        return low
    }

    func translate(_ va: UInt64) throws -> (pa: UInt64, level: Int) {
        var table = root
        for level in stride(from: levels - 1, through: 0, by: -1) {
            let shift = pageShift + (pageShift - 3) * UInt64(level)
            let bits = level == levels - 1 ? vaBits - shift : pageShift - 3
            let index = (va >> shift) & ((1 << bits) - 1)
            let d = try readPhysical(table + index * 8, 8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            guard d & 1 == 1 else { throw SimTools.Failed(description: "0x\(String(va, radix: 16)) unmapped at level \(level)") }
            seen.append((level, d))
            if level == 0 || d & 3 == 1 {
                return (outputAddress(d) | (va & ((1 << shift) - 1)), level)
            }
            table = outputAddress(d)
        }
        throw SimTools.Failed(description: "walk did not end")
    }

    func read(_ va: UInt64, _ n: Int) throws -> Data {
        try readPhysical(try translate(va).pa, n)
    }
}
