import Foundation
import Testing

/// `vmsim --btf` (CONFIG_DEBUG_INFO_BTF), read back with nm -S, readelf and our own minimal
/// reading of the dump's memory and kallsyms tables.
@Suite struct BTFTests {
    static let arches: [[String]] = [[], ["--arch", "arm64"]]

    static func dump(_ arch: [String], btf: Bool) throws -> URL {
        try SimTools.dump(seed: 1, memory: arch.isEmpty ? "64M" : "256M", arch + (btf ? ["--btf"] : []))
    }

    /// The vmlinux's .BTF section bytes (where readelf places it), nil when it has none.
    static func btfSection(_ dir: URL) throws -> Data? {
        let r = try SimTools.run("readelf", ["-SW", dir.file("vmlinux")])
        // "  [ 5] .BTF  PROGBITS  address offset size ..."
        guard let line = r.text.split(separator: "\n").first(where: { $0.contains("] .BTF ") }) else { return nil }
        let f = line.split(separator: "]", maxSplits: 1)[1].split(separator: " ")
        guard f.count >= 5, let offset = Int(f[3], radix: 16), let size = Int(f[4], radix: 16) else {
            throw SimTools.Failed(description: "readelf: cannot read \(line)")
        }
        let file = try Data(contentsOf: dir.appendingPathComponent("vmlinux"))
        guard offset + size <= file.count else { throw SimTools.Failed(description: ".BTF past the end of vmlinux") }
        return file.subdata(in: offset..<(offset + size))
    }

    /// The blob at __start_BTF in the dump's memory is the vmlinux's .BTF section, magic
    /// 0xeB9F first; the two symbols bound it and are 'R' in the dump's kallsyms.
    @Test(arguments: arches) func dumpCarriesItsBTF(_ arch: [String]) throws {
        let dir = try BTFTests.dump(arch, btf: true)
        let nm = try SymbolSizes(dir), syms = nm.addresses
        let start = try #require(syms["__start_BTF"]), stop = try #require(syms["__stop_BTF"])
        let section = try #require(try BTFTests.btfSection(dir))
        #expect(stop &- start == UInt64(section.count))
        #expect(section.count > 4096)
        let memory = try KernelImageMemory(dir)
        let blob = try memory.read(link: start, section.count)
        #expect(blob.prefix(2) == Data([0x9f, 0xeb]))   // BTF_MAGIC, little endian
        #expect(blob == section)
        let kallsyms = try memory.kallsyms(nm)
        #expect(kallsyms["__start_BTF"]?.type == "R" && kallsyms["__start_BTF"]?.address == start &+ memory.kernelOffset)
        #expect(kallsyms["__stop_BTF"]?.type == "R" && kallsyms["__stop_BTF"]?.address == stop &+ memory.kernelOffset)
        #expect(kallsyms["_stext"]?.type == "T" && kallsyms["_stext"]?.address == syms["_stext"].map { $0 &+ memory.kernelOffset })
    }

    /// The BTF changes the image, not what its kernel would print.
    @Test(arguments: arches) func expectedIsTheSame(_ arch: [String]) throws {
        let with = try BTFTests.dump(arch, btf: true), without = try BTFTests.dump(arch, btf: false)
        let files = try FileManager.default.contentsOfDirectory(atPath: without.file("expected")).sorted()
        #expect(files.contains("page_owner.txt"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: with.file("expected")).sorted() == files)
        for f in files {
            #expect(FileManager.default.contentsEqual(atPath: with.file("expected/\(f)"), andPath: without.file("expected/\(f)")), "\(f)")
        }
    }

    @Test(arguments: arches) func withoutTheFlagNoBTF(_ arch: [String]) throws {
        let dir = try BTFTests.dump(arch, btf: false)
        let nm = try SymbolSizes(dir)
        #expect(nm.addresses["__start_BTF"] == nil && nm.addresses["__stop_BTF"] == nil)
        #expect(try BTFTests.btfSection(dir) == nil)
        let kallsyms = try KernelImageMemory(dir).kallsyms(nm)
        #expect(kallsyms["_stext"] != nil)
        #expect(kallsyms["__start_BTF"] == nil && kallsyms["__stop_BTF"] == nil)
    }
}

/// `nm -S` of the vmlinux: link-time addresses and, for sized symbols, sizes.
struct SymbolSizes {
    private(set) var addresses: [String: UInt64] = [:]
    private(set) var sizes: [String: Int] = [:]

    init(_ dir: URL) throws {
        for line in try SimTools.run("nm", ["-S", dir.file("vmlinux")]).text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3, let a = UInt64(f[0], radix: 16), let name = f.last.map(String.init) else { continue }
            addresses[name] = a
            if f.count == 4 { sizes[name] = Int(f[1], radix: 16) }
        }
    }
}

/// The kernel image in an ELF vmcore, reached as __pa_symbol does: x86_64 VA −
/// __START_KERNEL_map + phys_base, arm64 VA − kimage_voffset (values from VMCOREINFO).
struct KernelImageMemory {
    let kernelOffset: UInt64
    private let toPhysical: (UInt64) -> UInt64
    private let loads: ELFLoads
    private let vmcore: URL

    init(_ dir: URL) throws {
        vmcore = dir.appendingPathComponent("vmcore")
        let info = try vmcoreinfo(vmcore)
        kernelOffset = try #require(ARM64Tests.hex(info["KERNELOFFSET"]))
        if let voffset = ARM64Tests.hex(info["NUMBER(kimage_voffset)"]) {
            toPhysical = { $0 &- voffset }
        } else {
            let physBase = UInt64(bitPattern: try #require(info["NUMBER(phys_base)"].flatMap { Int64($0) }))
            toPhysical = { $0 &- 0xffff_ffff_8000_0000 &+ physBase }
        }
        let h = try FileHandle(forReadingFrom: vmcore)
        defer { try? h.close() }
        loads = try ELFLoads(h.readData(ofLength: 1 << 16))
    }

    /// `n` bytes at a link-time (vmlinux) address.
    func read(link: UInt64, _ n: Int) throws -> Data {
        let pa = toPhysical(link &+ kernelOffset)
        guard let o = loads.fileOffset(pa) else { throw SimTools.Failed(description: "PA 0x\(String(pa, radix: 16)) not in the dump") }
        let h = try FileHandle(forReadingFrom: vmcore)
        defer { try? h.close() }
        try h.seek(toOffset: o)
        let d = h.readData(ofLength: n)
        guard d.count == n else { throw SimTools.Failed(description: "short read at PA 0x\(String(pa, radix: 16))") }
        return d
    }

    /// The kallsyms tables of 6.12 (scripts/kallsyms.c) decoded to name -> (type, runtime
    /// address): names are token codes behind a 1- or 2-byte length, the first character the
    /// type; x86_64's offsets are negative from kallsyms_relative_base − 1, arm64's positive.
    func kallsyms(_ syms: SymbolSizes) throws -> [String: (type: Character, address: UInt64)] {
        func table(_ name: String) throws -> [UInt8] {
            guard let a = syms.addresses[name], let n = syms.sizes[name] else { throw SimTools.Failed(description: "no sized \(name) in vmlinux") }
            return [UInt8](try read(link: a, n))
        }
        func bad(_ what: String) -> Error { SimTools.Failed(description: "kallsyms: \(what)") }
        func le(_ b: [UInt8], _ o: Int, _ n: Int) -> UInt64 { (0..<n).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
        let count = Int(le(try table("kallsyms_num_syms"), 0, 4))
        let tokenIndex = try table("kallsyms_token_index"), tokens = try table("kallsyms_token_table")
        let names = try table("kallsyms_names"), offsets = try table("kallsyms_offsets")
        let base = le(try table("kallsyms_relative_base"), 0, 8)
        guard count > 0, 4 * count <= offsets.count, tokenIndex.count == 512 else { throw bad("\(count) symbols") }
        let absolutePercpu = syms.addresses["init_top_pgt"] != nil   // x86_64
        var result: [String: (type: Character, address: UInt64)] = [:]
        var o = 0
        for i in 0..<count {
            guard o + 2 <= names.count else { throw bad("names end early") }
            var len = Int(names[o]); o += 1
            if len & 0x80 != 0 { len = (len & 0x7f) | Int(names[o]) << 7; o += 1 }
            guard len > 0, o + len <= names.count else { throw bad("name \(i) past the table") }
            var text: [UInt8] = []
            for code in names[o..<(o + len)] {
                var t = Int(le(tokenIndex, 2 * Int(code), 2))
                while t < tokens.count, tokens[t] != 0 { text.append(tokens[t]); t += 1 }
            }
            o += len
            guard !text.isEmpty else { throw bad("empty name \(i)") }
            let off = Int32(bitPattern: UInt32(le(offsets, 4 * i, 4)))
            let address = absolutePercpu ? base &- 1 &- UInt64(bitPattern: Int64(off)) : base &+ UInt64(UInt32(bitPattern: off))
            result[String(decoding: text.dropFirst(), as: UTF8.self)] = (Character(UnicodeScalar(text[0])), address)
        }
        return result
    }
}
