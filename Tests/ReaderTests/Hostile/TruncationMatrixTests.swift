import Foundation
import Testing

/// Every dump format cut short at the places its reader looks first: headers, the notes,
/// VMCOREINFO, the bitmaps, the page descriptors, page data, the last byte.
@Suite struct TruncationMatrixTests {
    /// vmsim formats, and `xz` around an ELF and a kdump dump.
    static let formats = ["elf", "kdump-zlib", "kdump-lzo", "kdump-snappy", "kdump-zstd", "flat", "elf.xz", "kdump-zlib.xz"]

    static func dumpFile(_ format: String) throws -> (dir: URL, vmcore: String) {
        let base = format.hasSuffix(".xz") ? String(format.dropLast(3)) : format
        let dir = try SimulatedDumps.dump(seed: 1, memory: "64M", base == "elf" ? [] : ["--format", base])
        guard format.hasSuffix(".xz") else { return (dir, dir.file("vmcore")) }
        return (dir, try XZCopies.make(dir.file("vmcore")))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let format: String
        let cut: Int
        let place: String
        var testDescription: String { "\(format) cut at \(cut) (\(place))" }
    }

    /// The cut points of one format, from its own structure.
    static func cuts(_ format: String) throws -> [(Int, String)] {
        let image = try HostileFiles.image(try dumpFile(format).vmcore)
        let size = image.size
        var cuts: [(Int, String)] = [(8, "magic only"), (size / 2, "middle"), (size - 1, "last byte"), (size - 4096, "last page")]
        switch format {
        case "elf":
            let headers = VMCoreInfoRewrite.elfProgramHeaders(image)
            cuts += [(40, "ELF header"), (64 + 20, "first program header"), (64 + 56 * headers.count - 3, "last program header")]
            if let note = headers.first(where: { $0.type == 4 }) {
                cuts += [(note.offset + 6, "note header"), (note.offset + note.filesz / 2, "inside the notes"), (note.offset + note.filesz - 1, "end of the notes")]
            }
            for load in headers.filter({ $0.type == 1 }).prefix(3) {
                cuts += [(load.offset + 1, "PT_LOAD start"), (load.offset + load.filesz / 2, "inside a PT_LOAD")]
            }
        case _ where format.hasPrefix("kdump") && !format.hasSuffix(".xz"):
            let bs = Int(image.le(428, 4)), subBlocks = Int(image.le(432, 4)), bitmapBlocks = Int(image.le(436, 4))
            let bitmaps = (1 + subBlocks) * bs, descriptors = (1 + subBlocks + bitmapBlocks) * bs
            let (noteAt, noteSize) = try VMCoreInfoRewrite.noteSpan(image)
            let infoAt = Int(image.le(bs + 32, 8)), infoSize = Int(image.le(bs + 40, 8))
            let firstData = Int(image.le(descriptors, 8))
            cuts += [(200, "disk_dump_header"), (463, "end of disk_dump_header"), (bs + 20, "sub-header"), (bs + 60, "sub-header note fields"),
                     (noteAt + 10, "first note"), (noteAt + noteSize - 1, "end of the notes"), (infoAt + infoSize / 2, "inside VMCOREINFO"),
                     (bitmaps + 10, "1st bitmap"), (bitmaps + bitmapBlocks * bs / 2 + 10, "2nd bitmap"), (descriptors + 12, "first descriptor"),
                     (descriptors + 24 * 1000, "descriptors"), (firstData + 1, "first page data"), (firstData + 5000, "page data")]
        case "flat":
            cuts += [(100, "flattened header"), (4096 + 8, "first record header"), (4096 + 40, "first record data"),
                     (size / 8, "an eighth"), (size / 4, "a quarter"), (size * 3 / 4, "three quarters"), (size - 16, "end record")]
        default:   // .xz
            cuts += [(12, "stream header"), (100, "first block"), (size / 4, "a quarter"), (size - 12, "stream footer"),
                     (size - 40, "index"), (size - 200, "last block")]
        }
        return cuts.filter { $0.0 > 0 && $0.0 < size }
    }

    static func cases() throws -> [Case] {
        try formats.flatMap { format in try cuts(format).map { Case(format: format, cut: $0.0, place: $0.1) } }
    }

    static let commands: [[String]] = [["page-owner"], ["stacks", "--from-pages"], ["info"], ["fragmentation"]]

    @Test(arguments: try cases())
    func truncated(_ c: Case) throws {
        let (dir, vmcore) = try Self.dumpFile(c.format)
        let image = try HostileFiles.image(vmcore)
        let path = try image.variant("vmcore" + (c.format.hasSuffix(".xz") ? ".xz" : ""), length: c.cut)
        HostileCase(label: "\(c.format) truncated at \(c.cut) of \(image.size) (\(c.place))", vmlinux: dir.file("vmlinux"), vmcore: path,
                    commands: Self.commands, crafted: [path]).expectContract()
    }
}

/// `xz` copies of simulated dumps (1 MiB blocks, as the .xz reader wants them seekable).
enum XZCopies {
    private static let lock = NSLock()

    static func make(_ path: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        let target = path + ".xz"
        if FileManager.default.fileExists(atPath: target) { return target }
        let xz = try Tools.runExecutable("/usr/bin/xz", ["-T1", "-1", "--block-size=1MiB", "-k", path])
        try #require(xz.status == 0, "\(xz.stderr)")
        return target
    }
}
