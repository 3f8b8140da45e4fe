import Foundation
import Testing
@testable import ELFCore

/// kdump-compressed, flattened and .xz dumps built here with the real compression libraries.
/// The end-to-end checks against makedumpfile and QEMU output are in ReaderTests.
@Suite struct KdumpFormatTests {
    func page(_ dump: PhysicalMemory, _ pfn: UInt64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xcc, count: 4096)
        try out.withUnsafeMutableBytes { try dump.read(physical: pfn * 4096, into: $0) }
        return out
    }

    func fault(_ dump: PhysicalMemory, _ pfn: UInt64) -> MemoryFault? {
        do { _ = try page(dump, pfn); return nil } catch { return error as? MemoryFault }
    }

    /// Every page reads back as written; holes and excluded pages fault.
    func checkContents(_ dump: PhysicalMemory, _ builder: KdumpBuilder) throws {
        for pfn in builder.dumpedPFNs {
            #expect(try page(dump, pfn) == KdumpBuilder.content(pfn: pfn), "pfn \(pfn)")
        }
        for pfn in builder.excluded { #expect(fault(dump, pfn) == .excluded(physical: pfn * 4096)) }
        #expect(fault(dump, 200) == .notInDump(physical: 200 * 4096))
        #expect(fault(dump, builder.maxMapnr + 5) == .notInDump(physical: (builder.maxMapnr + 5) * 4096))
        #expect(dump.ranges == [PhysicalRange(start: 0, end: 160 * 4096), PhysicalRange(start: 256 * 4096, end: builder.maxMapnr * 4096)])
    }

    @Test(arguments: KdumpBuilder.Method.allCases)
    func everyMethodReadsBack(method: KdumpBuilder.Method) throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.method = method
        let path = try folder.write(builder.build().bytes, "dump-\(method)")
        let dump = try DumpFormat.open(path: path)
        let expectedName = method == .raw ? "kdump-compressed (uncompressed)" : "kdump-compressed (\(method))"
        #expect(dump.formatName == expectedName)
        #expect(dump.vmcoreinfo == builder.vmcoreinfo)
        try checkContents(dump, builder)
        // A read across pages and one inside a page.
        var two = [UInt8](repeating: 0, count: 100)
        try two.withUnsafeMutableBytes { try dump.read(physical: 9 * 4096 - 50, into: $0) }
        #expect(two == Array(KdumpBuilder.content(pfn: 8)[4046...]) + Array(KdumpBuilder.content(pfn: 9)[..<50]))
        // The shared zero page and raw pages are plain in the file; compressed ones are not.
        #expect(dump.directSpan(physical: 7 * 4096 + 8)?.count == 4096 - 8)
        #expect(dump.directPointer(physical: 5 * 4096, count: 4096) != nil)       // random page: raw
        #expect((dump.directSpan(physical: 8 * 4096) != nil) == (method == .raw))
    }

    @Test func flattenedReadsInPlace() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.method = .zstd
        let path = try folder.write(KdumpBuilder.flatten(builder.build().bytes), "flat")
        let dump = try DumpFormat.open(path: path)
        #expect(dump.formatName == "flattened kdump (zstd)")
        #expect(dump.vmcoreinfo == builder.vmcoreinfo)
        try checkContents(dump, builder)
    }

    @Test func xzWithBlocksIsReadInPlaceAndOneBlockIsDecompressed() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.method = .snappy
        let plain = try folder.write(builder.build().bytes, "dump")
        let blocks = try folder.xz(plain, ["-T1", "--block-size=64KiB", "-1"])
        var notes: [String] = []
        let seekable = try DumpFormat.open(path: blocks, note: { notes.append($0) })
        #expect(notes.isEmpty)
        #expect(seekable.formatName == "kdump-compressed (snappy, xz)")
        try checkContents(seekable, builder)

        let flat = try folder.write(KdumpBuilder.flatten(builder.build().bytes), "flat")
        let single = try folder.xz(flat, ["-T1", "-1"])
        let whole = try DumpFormat.open(path: single, note: { notes.append($0) })
        #expect(notes.count == 1 && notes[0].contains("temporary file"), "\(notes)")
        #expect(whole.formatName == "flattened kdump (snappy, xz)")
        #expect(whole.path == single)
        try checkContents(whole, builder)
        // The temporary copy is gone from disk once mapped.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ProcessInfoTemporary.directory)
            .filter { $0.hasPrefix("vmowner-vmcore-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func compressedInputGivesAPlainPath() throws {
        let folder = try TemporaryFolder()
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        let plain = try folder.write(bytes, "vmlinux")
        var notes: [String] = []
        #expect(try CompressedInput.plainPath(for: plain, note: { notes.append($0) }) == plain)
        #expect(notes.isEmpty)
        let xz = try folder.xz(plain, ["-T1"])
        let out = try CompressedInput.plainPath(for: xz, note: { notes.append($0) })
        #expect(out != xz && notes.count == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(bytes))
        #expect(throws: InputError.self) { try CompressedInput.plainPath(for: folder.url.path + "/missing", note: { _ in }) }
    }

    @Test func oldHeaderVersionsAndSplitDumps() throws {
        let folder = try TemporaryFolder()
        for version: Int32 in [1, 2, 3, 4, 5] {
            var builder = KdumpBuilder()
            builder.version = version
            builder.method = .lzo
            let dump = try DumpFormat.open(path: folder.write(builder.build().bytes, "v\(version)"))
            // VMCOREINFO arrived in version 3; in 4+ the notes hold it too.
            #expect((dump.vmcoreinfo == nil) == (version < 3), "version \(version)")
            try checkContents(dump, builder)
        }
        var builder = KdumpBuilder()
        builder.split = 100..<600
        let dump = try DumpFormat.open(path: folder.write(builder.build().bytes, "split"))
        #expect(dump.formatName.contains("split"))
        #expect(try page(dump, 300) == KdumpBuilder.content(pfn: 300))
        #expect(try page(dump, 100) == KdumpBuilder.content(pfn: 100))
        #expect(fault(dump, 50) == .excluded(physical: 50 * 4096))      // in the other file of the set
        #expect(fault(dump, 700) == .excluded(physical: 700 * 4096))
    }

    @Test func twoThreadsThroughASmallCache() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.method = .zlib
        let path = try folder.write(builder.build().bytes, "dump")
        let dump = try KdumpCompressedDump(bytes: MappedBytes(file: MappedFile(path: path)), cachedPages: 8)
        let pfns = builder.dumpedPFNs
        let wrong = Counter()
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            for round in 0..<3 {
                let order = thread == 0 ? pfns : pfns.reversed()
                for pfn in order where (pfn + UInt64(round)) % 2 == 0 || thread == 1 {
                    var out = [UInt8](repeating: 0, count: 4096)
                    do { try out.withUnsafeMutableBytes { try dump.read(physical: pfn * 4096, into: $0) } } catch { wrong.add() }
                    if out != KdumpBuilder.content(pfn: pfn) { wrong.add() }
                }
            }
        }
        #expect(wrong.value == 0)
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.lock(); count += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    }
}

/// Damaged files: an error naming the file, or a fault for the damaged page; never a trap.
@Suite struct KdumpCorruptInputTests {
    func open(_ bytes: [UInt8], _ folder: TemporaryFolder, _ name: String = "bad") throws -> PhysicalMemory {
        try DumpFormat.open(path: folder.write(bytes, name), note: { _ in })
    }

    func inputError(_ bytes: [UInt8], _ folder: TemporaryFolder) -> InputError? {
        do { _ = try open(bytes, folder); return nil } catch { return error as? InputError }
    }

    func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + $0.count), with: $0) }
    }

    /// The header's utsname machine names the architecture; one vmowner cannot read is refused
    /// by name.
    @Test func architectureFromUtsname() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.machine = "aarch64"
        #expect(try open(builder.build().bytes, folder, "arm64").architecture == .arm64)
        builder.machine = "x86_64"
        #expect(try open(builder.build().bytes, folder, "x86").architecture == .x86_64)
        builder.machine = "riscv64"
        let error = try #require(inputError(builder.build().bytes, folder))
        #expect(error.reason.contains("utsname machine \"riscv64\""), "\(error)")
    }

    /// QEMU 7.2 writes "Unknown" for an arm64 guest (seen on samples/real-kernel 6.12-arm64):
    /// the VMCOREINFO keys only one architecture writes decide; without them it is refused.
    @Test func unknownMachineFromVMCOREINFO() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.machine = "Unknown"
        builder.vmcoreinfo = "OSRELEASE=6.12.117\nPAGESIZE=4096\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=0xffffbfa6bd200000\n"
        #expect(try open(builder.build().bytes, folder, "qemu-arm64").architecture == .arm64)
        builder.vmcoreinfo = "OSRELEASE=6.12.117\nPAGESIZE=4096\nNUMBER(phys_base)=-167772160\n"
        #expect(try open(builder.build().bytes, folder, "qemu-x86").architecture == .x86_64)
        builder.vmcoreinfo = "OSRELEASE=6.12.117\nPAGESIZE=4096\n"
        let error = try #require(inputError(builder.build().bytes, folder))
        #expect(error.reason.contains("utsname machine \"Unknown\""), "\(error)")
    }

    @Test func badHeaders() throws {
        let folder = try TemporaryFolder()
        let (good, _) = KdumpBuilder().build()
        var bad = good
        put(UInt32(3), at: 428, in: &bad)                       // block_size
        let e1 = try #require(inputError(bad, folder))
        #expect(e1.file.hasSuffix("/bad") && e1.reason.contains("block_size"), "\(e1)")
        bad = good
        put(UInt32(7), at: 436, in: &bad)                       // odd bitmap_blocks
        #expect(inputError(bad, folder)?.reason.contains("bitmap_blocks") == true)
        bad = good
        put(Int32(6).bigEndian, at: 8, in: &bad)
        #expect(inputError(bad, folder)?.reason.contains("big-endian") == true)
        // Cut inside the bitmaps.
        let cut = inputError(Array(good[0..<(3 * 4096 + 10)]), folder)
        #expect(cut?.reason.contains("truncated") == true, "\(String(describing: cut))")
        #expect(inputError(Array(good[0..<300]), folder)?.reason.contains("truncated") == true)
        #expect(inputError(Array("KDUMP   ".utf8), folder) != nil)
        #expect(inputError([UInt8](repeating: 0x41, count: 9000), folder)?.reason.contains("not a crash dump") == true)
    }

    @Test func damagedPagesFaultAlone() throws {
        let folder = try TemporaryFolder()
        for method in [KdumpBuilder.Method.zlib, .lzo, .snappy, .zstd] {
            var builder = KdumpBuilder()
            builder.method = method
            let (good, layout) = builder.build()
            var bad = good
            // pfn 10: descriptor points past the end; pfn 11: garbage instead of compressed data;
            // pfn 12: claims a huge size; pfn 13: unknown compression flags.
            put(UInt64(good.count + 4096), at: layout.descriptorOf[10]!, in: &bad)
            let at11 = Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: layout.descriptorOf[11]!, as: UInt64.self) })
            for i in 0..<40 { bad[at11 + i] = 0xa5 ^ UInt8(i) }
            put(UInt32(1 << 30), at: layout.descriptorOf[12]! + 8, in: &bad)
            put(UInt32(0x40), at: layout.descriptorOf[13]! + 12, in: &bad)
            let dump = try open(bad, folder, "bad-\(method)")
            var out = [UInt8](repeating: 0, count: 4096)
            for pfn: UInt64 in [10, 11, 12, 13] {
                do {
                    try out.withUnsafeMutableBytes { try dump.read(physical: pfn * 4096, into: $0) }
                    Issue.record("\(method) pfn \(pfn) read without error")
                } catch let fault as MemoryFault {
                    guard case .corrupt(let physical, let reason) = fault else { Issue.record("\(fault)"); continue }
                    #expect(physical == pfn * 4096 && !reason.isEmpty)
                }
            }
            try out.withUnsafeMutableBytes { try dump.read(physical: 14 * 4096, into: $0) }
            #expect(out == KdumpBuilder.content(pfn: 14))
        }
    }

    @Test func truncatedFiles() throws {
        let folder = try TemporaryFolder()
        let builder = KdumpBuilder()
        let (good, _) = builder.build()
        let last = try #require(builder.dumpedPFNs.last { $0 % 50 != 7 })
        let dump = try open(Array(good[0..<(good.count - 10)]), folder)
        var out = [UInt8](repeating: 0, count: 4096)
        #expect(throws: MemoryFault.self) { try out.withUnsafeMutableBytes { try dump.read(physical: last * 4096, into: $0) } }
        try out.withUnsafeMutableBytes { try dump.read(physical: 1 * 4096, into: $0) }
        #expect(out == KdumpBuilder.content(pfn: 1))

        // Flattened, cut in the middle of a record: what is there is read, the name says so.
        let flat = KdumpBuilder.flatten(good, overwriteFirstBlock: false)
        let cutFlat = try open(Array(flat[0..<(flat.count * 2 / 3)]), folder, "flat")
        #expect(cutFlat.formatName.contains("truncated"))
        #expect(throws: MemoryFault.self) { try out.withUnsafeMutableBytes { try cutFlat.read(physical: last * 4096, into: $0) } }
        // A flattened record with a negative size.
        var badFlat = flat
        badFlat.replaceSubrange((4096 + 8)..<(4096 + 16), with: withUnsafeBytes(of: Int64(-5).bigEndian) { Array($0) })
        #expect(inputError(badFlat, folder)?.reason.contains("corrupt flattened record") == true)
    }

    @Test func damagedXZ() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.method = .raw
        let plain = try folder.write(builder.build().bytes, "dump")
        let xz = try folder.xz(plain, ["-T1", "--block-size=64KiB", "-0"])
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: xz)))
        // Damage the middle: the header block still decodes, later pages fault.
        let start = bytes.count / 2
        for i in start..<(start + 64) { bytes[i] ^= 0x5a }
        let dump = try open(bytes, folder, "damaged.xz")
        var faults = 0
        for pfn in builder.dumpedPFNs {
            var out = [UInt8](repeating: 0, count: 4096)
            do {
                try out.withUnsafeMutableBytes { try dump.read(physical: pfn * 4096, into: $0) }
                #expect(out == KdumpBuilder.content(pfn: pfn))
            } catch let fault as MemoryFault {
                if case .corrupt = fault { faults += 1 } else { Issue.record("\(fault)") }
            }
        }
        #expect(faults > 0)
        // Cut short: no stream footer at the end, refused at once, without the note that
        // announces a whole-file decompression (the error is the one line on stderr).
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: xz)))
        let e = inputError(Array(original[0..<(original.count / 2)]), folder)
        #expect(e?.reason.contains("truncated") == true, "\(String(describing: e))")
        let cut = try folder.write(Array(original[0..<(original.count - 1)]), "cut.xz")
        var notes: [String] = []
        #expect(throws: InputError.self) { try DumpFormat.open(path: cut, note: { notes.append($0) }) }
        #expect(notes.isEmpty, "\(notes)")
    }

    /// Random damage to the headers, bitmaps and descriptors: whatever happens, no trap.
    @Test func randomDamageNeverTraps() throws {
        let folder = try TemporaryFolder()
        var builder = KdumpBuilder()
        builder.maxMapnr = 300
        builder.holes = []
        let (good, layout) = builder.build()
        var state: UInt64 = 0x1234_5678
        func next() -> Int { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return Int(truncatingIfNeeded: state >> 1) }
        var opened = 0
        for round in 0..<150 {
            var bad = good
            for _ in 0..<(1 + next() % 8) {
                let region = next() % 3
                let at = region == 0 ? next() % 4096 + (next() % 2) * 4096 : region == 1 ? 2 * 4096 + next() % (2 * 4096) : layout.descriptors + next() % (layout.firstPageData - layout.descriptors)
                bad[at % bad.count] = UInt8(truncatingIfNeeded: next())
            }
            guard let dump = try? open(bad, folder, "r\(round)") else { continue }
            opened += 1
            var out = [UInt8](repeating: 0, count: 4096)
            for pfn in stride(from: UInt64(0), to: 320, by: 7) {
                try? out.withUnsafeMutableBytes { try dump.read(physical: pfn * 4096, into: $0) }
                _ = dump.directSpan(physical: pfn * 4096)
            }
        }
        #expect(opened > 0)
    }

    /// block_size may be up to 1 MiB; the page cache stays within its byte budget (4096 such
    /// blocks would be 4 GiB), and pages of that size still read back.
    @Test func largeBlocksKeepThePageCacheSmall() throws {
        let block = 1 << 20
        var file = [UInt8](repeating: 0, count: 6 * block)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { file.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        }
        file.replaceSubrange(0..<8, with: Array("KDUMP   ".utf8))
        put(Int32(6), at: 8)                          // header_version
        file.replaceSubrange(272..<278, with: Array("x86_64".utf8))   // utsname.machine
        put(UInt32(block), at: 428)                   // block_size
        put(UInt32(1), at: 432)                       // sub_hdr_size
        put(UInt32(2), at: 436)                       // bitmap_blocks
        put(UInt32(1), at: 440)                       // max_mapnr
        put(UInt64(1), at: block + 96)                // max_mapnr_64
        file[2 * block] = 1                           // pfn 0 is RAM
        file[3 * block] = 1                           // and dumped
        put(UInt64(4 * block + 24), at: 4 * block)    // its descriptor: raw data right after it
        put(UInt32(block), at: 4 * block + 8)
        file[4 * block + 24 + 100] = 0x5a
        let folder = try TemporaryFolder()
        let dump = try #require(try DumpFormat.open(path: folder.write(file, "big-blocks")) as? KdumpCompressedDump)
        #expect(dump.cache.capacity * dump.cache.pageSize <= KdumpCompressedDump.cacheBytes)
        var out = [UInt8](repeating: 0, count: 200)
        try out.withUnsafeMutableBytes { try dump.read(physical: 0, into: $0) }
        #expect(out[100] == 0x5a)
    }
}
