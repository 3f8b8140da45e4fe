import Foundation
import Testing
@testable import ELFCore

/// makedumpfile --split sets built here: every part a whole kdump file holding one pfn range.
/// The end-to-end checks on makedumpfile's own --split output are in ReaderTests.
@Suite struct SplitDumpTests {
    static let ranges: [Range<UInt64>] = [0..<300, 300..<300, 300..<700, 700..<1024]

    /// The parts of one dump, written to `folder` as part1... (the empty range included).
    func writeParts(_ folder: TemporaryFolder, prefix: String = "part", info: String? = nil, ranges: [Range<UInt64>] = Self.ranges) throws -> [String] {
        try ranges.enumerated().map { i, range in
            var builder = KdumpBuilder()
            builder.split = range
            if let info { builder.vmcoreinfo = info }
            return try folder.write(builder.build().bytes, "\(prefix)\(i + 1)")
        }
    }

    func page(_ dump: PhysicalMemory, _ pfn: UInt64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xcc, count: 4096)
        try out.withUnsafeMutableBytes { try dump.read(physical: pfn * 4096, into: $0) }
        return out
    }

    func refusal(_ paths: [String]) -> InputError? {
        do { _ = try SplitDumpFiles.open(paths: paths); return nil } catch { return error as? InputError }
    }

    @Test func partsInAnyOrderReadAsTheWholeDump() throws {
        let folder = try TemporaryFolder()
        let parts = try writeParts(folder)
        let whole = KdumpBuilder()
        for order in [parts, parts.reversed(), [parts[2], parts[0], parts[3], parts[1]]] {
            let set = try SplitDumpFiles.open(paths: order)
            #expect(set.formatName == "kdump-compressed (zlib, split in 4 files)")
            #expect(set.vmcoreinfo == whole.vmcoreinfo)
            #expect(set.ranges == [PhysicalRange(start: 0, end: 160 * 4096), PhysicalRange(start: 256 * 4096, end: 1024 * 4096)])
            for pfn in whole.dumpedPFNs { #expect(try page(set, pfn) == KdumpBuilder.content(pfn: pfn), "pfn \(pfn)") }
            #expect(throws: MemoryFault.excluded(physical: 500 * 4096)) { try page(set, 500) }
            #expect(throws: MemoryFault.notInDump(physical: 200 * 4096)) { try page(set, 200) }
            // A read across the boundary of two parts takes each page from its own part.
            var across = [UInt8](repeating: 0, count: 100)
            try across.withUnsafeMutableBytes { try set.read(physical: 700 * 4096 - 50, into: $0) }
            #expect(across == Array(KdumpBuilder.content(pfn: 699)[4046...]) + Array(KdumpBuilder.content(pfn: 700)[..<50]))
            #expect(set.directSpan(physical: 707 * 4096)?.count == 4096)    // the shared zero page, in part 4
        }
    }

    /// One part named: the others are found beside it by their headers, whatever their names;
    /// files of another dump and unsplit dumps in the same folder are left alone.
    @Test func onePartFindsTheOthersBesideIt() throws {
        let folder = try TemporaryFolder()
        let parts = try writeParts(folder, prefix: "vmcore-")
        _ = try writeParts(folder, prefix: "other-", info: KdumpBuilder().vmcoreinfo + "CRASHTIME=2\n", ranges: [0..<512, 512..<1024])
        _ = try folder.write(KdumpBuilder().build().bytes, "unsplit")
        _ = try folder.write([1, 2, 3], "notes.txt")
        let set = try #require(try SplitDumpFiles.open(paths: [parts[2]]) as? SplitKdumpSet)
        #expect(set.parts.map(\.path) == parts)
        #expect(try page(set, 20) == KdumpBuilder.content(pfn: 20))

        try FileManager.default.removeItem(atPath: parts[1 + 2])
        let error = try #require(refusal([parts[0]]))
        #expect(error.reason.contains("no part holds pfns 700-1024"), "\(error)")
        #expect(error.reason.contains("after \(parts[2])"), "\(error)")
        #expect(error.reason.contains("2 other parts of it found beside it in \(folder.url.path)"), "\(error)")
    }

    @Test func aMissingPartIsNamedByItsRange() throws {
        let folder = try TemporaryFolder()
        let parts = try writeParts(folder)
        let error = try #require(refusal([parts[3], parts[0]]))
        #expect(error.reason.contains("no part holds pfns 300-700 (physical 0x12c000-0x2bc000)"), "\(error)")
        #expect(error.reason.contains("between \(parts[0]) and \(parts[3])"), "\(error)")
        let first = try #require(refusal([parts[2], parts[3]]))
        #expect(first.reason.contains("no part holds pfns 0-300") && first.reason.contains("before \(parts[2])"), "\(first)")
    }

    @Test func aPartOfAnotherDumpIsRefused() throws {
        let folder = try TemporaryFolder()
        let parts = try writeParts(folder)
        let other = try writeParts(folder, prefix: "other", info: KdumpBuilder().vmcoreinfo + "CRASHTIME=2\n")
        let error = try #require(refusal([parts[0], other[1], other[2], parts[3]]))
        #expect(error.file == other[1] && error.reason.contains("not a part of the same dump as \(parts[0])"), "\(error)")
        #expect(error.reason.contains("VMCOREINFO"), "\(error)")

        // Another machine's dump: utsname (the node name) differs.
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: parts[2])))
        bytes.replaceSubrange(77..<83, with: Array("other2".utf8))        // utsname.nodename
        let renamed = try folder.write(bytes, "renamed")
        let uts = try #require(refusal([parts[0], renamed, parts[3]]))
        #expect(uts.reason.contains("its utsname differs"), "\(uts)")
    }

    @Test func overlapsTwinsAndStrangersAreRefused() throws {
        let folder = try TemporaryFolder()
        let parts = try writeParts(folder)
        let twice = try #require(refusal([parts[0], parts[2], parts[2], parts[3]]))
        #expect(twice.reason.contains("it is given twice"), "\(twice)")
        let overlapping = try writeParts(folder, prefix: "wide", ranges: [250..<800])
        let overlap = try #require(refusal([parts[0], overlapping[0], parts[3]]))
        #expect(overlap.reason.contains("both hold pfns 250-300"), "\(overlap)")
        let unsplit = try folder.write(KdumpBuilder().build().bytes, "unsplit")
        let stranger = try #require(refusal([parts[0], unsplit]))
        #expect(stranger.file == unsplit && stranger.reason.contains("not a part of a split dump"), "\(stranger)")
        let elf = try folder.write(Array("\u{7f}ELF".utf8) + [UInt8](repeating: 0, count: 60), "elf")
        #expect(refusal([parts[0], elf]) != nil)
    }

    /// Ranges are hostile numbers like any other: one past max_mapnr is refused, not read.
    @Test func aRangePastTheEndIsRefused() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.split = 700..<4096
        let past = try folder.write(builder.build().bytes, "past")
        let parts = try writeParts(folder)
        let error = try #require(refusal([parts[0], parts[2], past]))
        #expect(error.reason.contains("split range 700-4096 ends past max_mapnr 1024"), "\(error)")
    }

    @Test func filesAreToldApartByContent() throws {
        let folder = try TemporaryFolder()
        let dump = try folder.write(KdumpBuilder().build().bytes, "vmlinux")       // a misleading name
        #expect(try InputKind.of(path: dump) == .dump)
        #expect(try InputKind.of(path: folder.xz(dump, ["-0"])) == .dump)
        #expect(try InputKind.of(path: folder.write(KdumpBuilder.flatten(KdumpBuilder().build().bytes), "flat")) == .dump)
        func elf(type: UInt8) -> [UInt8] { Array("\u{7f}ELF".utf8) + [2, 1, 1] + [UInt8](repeating: 0, count: 9) + [type, 0, 62, 0] + [UInt8](repeating: 0, count: 44) }
        #expect(try InputKind.of(path: folder.write(elf(type: 2), "vmcore")) == .vmlinux)      // ET_EXEC
        #expect(try InputKind.of(path: folder.write(elf(type: 3), "a")) == .vmlinux)           // ET_DYN
        #expect(try InputKind.of(path: folder.write(elf(type: 4), "b")) == .dump)              // ET_CORE
        #expect(throws: InputError.self) { try InputKind.of(path: folder.write(elf(type: 1), "object.o")) }
        #expect(throws: InputError.self) { try InputKind.of(path: folder.write(Array("text\n".utf8), "text")) }
        #expect(throws: InputError.self) { try InputKind.of(path: folder.url.path + "/absent") }
    }
}

@Suite struct BuildIDTests {
    @Test func vmcoreinfoBuildID() {
        let id = "ef17d10596d45697e6aff278093ba388cf803266"
        #expect(BuildID.inVMCoreInfo("OSRELEASE=6.12.0\nBUILD-ID=\(id)\nPAGESIZE=4096\n") == id)
        #expect(BuildID.inVMCoreInfo("BUILD-ID=\(id.uppercased())\n") == id)
        #expect(BuildID.inVMCoreInfo("OSRELEASE=5.4.0\nPAGESIZE=4096\n") == nil)
        #expect(BuildID.inVMCoreInfo("BUILD-ID=not hex at all\n") == nil)
        #expect(BuildID.inVMCoreInfo("BUILD-ID=abc\n") == nil)                      // odd length
        #expect(BuildID.inVMCoreInfo("BUILD-ID=" + String(repeating: "ab", count: 65) + "\n") == nil)
        #expect(BuildID.inVMCoreInfo(nil) == nil)
    }

    @Test func stableKernelsThatWriteAWrongBuildID() {
        for release in ["5.15.168", "5.15.190-foo", "6.1.113", "6.1.118", "6.6.55", "6.6.62", "6.10.14", "6.11.3", "6.11.9"] {
            #expect(BuildID.releaseWritesWrongBuildID(release), "\(release)")
        }
        for release in ["5.15.167", "6.1.112", "6.1.119", "6.6.54", "6.6.63", "6.10.13", "6.11.2", "6.11.10", "6.12.117", "6.12", "weird"] {
            #expect(!BuildID.releaseWritesWrongBuildID(release), "\(release)")
        }
    }

    @Test func notesOfTheVMLinux() {
        // A Xen note, then the GNU build ID (type 3), as the kernel's .notes section holds them.
        func note(_ name: String, _ type: UInt32, _ desc: [UInt8]) -> [UInt8] {
            func le(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
            let n = Array(name.utf8) + [0]
            return le(UInt32(n.count)) + le(UInt32(desc.count)) + le(type) + n + [UInt8](repeating: 0, count: (4 - n.count % 4) % 4) + desc
        }
        let bytes = note("Xen", 3, [1, 2, 3, 4]) + note("GNU", 1, [9, 9, 9, 9]) + note("GNU", 3, [0xde, 0xad, 0xbe, 0xef])
        #expect(BuildID.inNotes(bytes) == "deadbeef")
        #expect(BuildID.inNotes(Array(bytes.prefix(30))) == nil)    // cut short
    }

    @Test func debugInfoPlacesAndTheMessageNamingThem() throws {
        let folder = try TemporaryFolder()
        let locator = DebugInfoLocator(directory: folder.url.path)
        let id = "ab" + String(repeating: "01", count: 19)
        #expect(locator.candidates(buildID: id, release: "6.12.0-1-amd64") == [
            "\(folder.url.path)/.build-id/ab/\(String(repeating: "01", count: 19)).debug",
            "\(folder.url.path)/boot/vmlinux-6.12.0-1-amd64",
            "\(folder.url.path)/lib/modules/6.12.0-1-amd64/vmlinux",
            "\(folder.url.path)/vmlinux-6.12.0-1-amd64",
        ])
        #expect(locator.candidates(buildID: nil, release: "../../etc").isEmpty)
        do {
            _ = try locator.locate(buildID: id, release: "6.12.0-1-amd64", dumpPath: "vmcore")
            Issue.record("found a vmlinux in an empty folder")
        } catch let error as InputError {
            #expect(error.file == "vmcore")
            #expect(error.reason.contains("build ID \(id)") && error.reason.contains("Linux 6.12.0-1-amd64"), "\(error)")
            for place in locator.candidates(buildID: id, release: "6.12.0-1-amd64") { #expect(error.reason.contains(place)) }
        }
        // A dump without VMCOREINFO cannot say which kernel it is of; one with it is looked up
        // by its BUILD-ID and OSRELEASE.
        #expect(throws: InputError(file: "vmcore", reason: "no vmlinux given, and the dump has no VMCOREINFO note: without it neither can the vmlinux be found (by build ID and release) nor the kernel's own kallsyms and BTF in the dump: name the vmlinux of the crashed kernel")) {
            try locator.locate(vmcoreinfo: nil, dumpPath: "vmcore")
        }
        #expect(throws: InputError.self) { try locator.locate(vmcoreinfo: "OSRELEASE=6.12.0-1-amd64\nBUILD-ID=\(id)\n", dumpPath: "vmcore") }
        try FileManager.default.createDirectory(atPath: folder.url.path + "/lib/modules/6.12.0-1-amd64/vmlinux", withIntermediateDirectories: true)
        _ = try folder.write([1], "vmlinux-6.12.0-1-amd64")      // a folder named vmlinux is passed over
        #expect(try locator.locate(buildID: nil, release: "6.12.0-1-amd64", dumpPath: "vmcore") == folder.url.path + "/vmlinux-6.12.0-1-amd64")
        try FileManager.default.createDirectory(atPath: folder.url.path + "/.build-id/ab", withIntermediateDirectories: true)
        let byID = try folder.write([2], ".build-id/ab/\(String(repeating: "01", count: 19)).debug")
        #expect(try locator.locate(vmcoreinfo: "OSRELEASE=6.12.0-1-amd64\nBUILD-ID=\(id)\n", dumpPath: "vmcore") == byID)
    }
}
