import CCompression
import Foundation

/// Writes small kdump-compressed files the way makedumpfile lays them out (header, sub header,
/// ELF notes with VMCOREINFO, two bitmaps, descriptors, a shared zero page, then the pages),
/// compressing with the real libraries, so the reader can be checked on methods the Debian
/// makedumpfile cannot write (snappy, zstd) and on damage we put in on purpose.
struct KdumpBuilder {
    enum Method: String, CaseIterable {
        case raw, zlib, lzo, snappy, zstd
        var flag: UInt32 {
            switch self { case .raw: 0; case .zlib: 1; case .lzo: 2; case .snappy: 4; case .zstd: 0x20 }
        }
    }

    var method: Method = .zlib
    var version: Int32 = 6
    var maxMapnr: UInt64 = 1024
    var holes: Set<UInt64> = Set(160..<256)          // not RAM: not in the 1st bitmap
    var excluded: Set<UInt64> = [3, 17, 500]         // RAM the dump left out
    var split: Range<UInt64>?
    var incomplete = false
    /// utsname.machine in the header: the architecture of the dump.
    var machine = "x86_64"
    var vmcoreinfo = "OSRELEASE=6.12.0-test\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff82a0a000\n"
    let pageSize = 4096

    /// Pfns stored in the file (RAM, not excluded, inside the split range).
    var dumpedPFNs: [UInt64] {
        (0..<maxMapnr).filter { !holes.contains($0) && !excluded.contains($0) && (split?.contains($0) ?? true) }
    }

    /// Page contents: mostly compressible text, every 50th page all zeros (shared descriptor),
    /// every 97th random (stored raw since it does not shrink).
    static func content(pfn: UInt64) -> [UInt8] {
        if pfn % 50 == 7 { return [UInt8](repeating: 0, count: 4096) }
        if pfn % 97 == 5 {
            var state = pfn &* 0x9E37_79B9_7F4A_7C15 | 1
            return (0..<4096).map { _ in
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return UInt8(truncatingIfNeeded: state)
            }
        }
        let line = Array("pfn \(pfn) holds struct page data; ".utf8)
        return (0..<4096).map { line[$0 % line.count] ^ UInt8(truncatingIfNeeded: $0 / 512) }
    }

    static func compress(_ page: [UInt8], _ method: Method) -> [UInt8] {
        switch method {
        case .raw:
            return page
        case .zlib:
            var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(page.count))))
            var length = uLongf(out.count)
            let rc = compress2(&out, &length, page, uLong(page.count), 1)
            precondition(rc == Z_OK)
            return Array(out[0..<Int(length)])
        case .lzo:
            _ = ccompression_lzo_init()
            var out = [UInt8](repeating: 0, count: page.count + page.count / 16 + 64 + 3)
            var work = [UInt8](repeating: 0, count: 1 << 20)
            var length = lzo_uint(out.count)
            let rc = lzo1x_1_compress(page, lzo_uint(page.count), &out, &length, &work)
            precondition(rc == 0)
            return Array(out[0..<Int(length)])
        case .snappy:
            var length = snappy_max_compressed_length(page.count)
            var out = [UInt8](repeating: 0, count: length)
            let rc = page.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    snappy_compress(src.baseAddress!.assumingMemoryBound(to: CChar.self), page.count,
                                    dst.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
                }
            }
            precondition(rc == SNAPPY_OK)
            return Array(out[0..<length])
        case .zstd:
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(page.count))
            let n = ZSTD_compress(&out, out.count, page, page.count, 3)
            precondition(ZSTD_isError(n) == 0)
            return Array(out[0..<n])
        }
    }

    /// Offsets of the parts, for tests that damage them.
    struct Layout {
        var descriptors = 0
        var firstPageData = 0
        var descriptorOf: [UInt64: Int] = [:]
    }

    func build() -> (bytes: [UInt8], layout: Layout) {
        var out = [UInt8]()
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { out.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        }
        func pad(to size: Int) { if out.count < size { out += [UInt8](repeating: 0, count: size - out.count) } }

        // Block 0: disk_dump_header.
        pad(to: pageSize)
        out.replaceSubrange(0..<8, with: Array("KDUMP   ".utf8))
        put(version, at: 8)
        out.replaceSubrange(12..<(12 + 5), with: Array("Linux".utf8))
        out.replaceSubrange(272..<(272 + machine.utf8.count), with: Array(machine.utf8))   // utsname.machine
        put(method.flag | (incomplete ? 8 : 0), at: 424)
        put(UInt32(pageSize), at: 428)
        let bitmapBytes = ((Int(maxMapnr) + 7) / 8 + pageSize - 1) / pageSize * pageSize
        let bitmapBlocks = 2 * bitmapBytes / pageSize

        // Block 1: kdump_sub_header, the ELF note with VMCOREINFO right after it.
        let info = Array(vmcoreinfo.utf8)
        var note = [UInt8]()
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) } }
        note += le32(11) + le32(info.count) + le32(0)
        note += Array("VMCOREINFO\0".utf8) + [0]                     // name padded to 12
        let descAt = pageSize + 104 + note.count
        note += info + [UInt8](repeating: 0, count: (4 - info.count % 4) % 4)
        let subBlocks = (104 + note.count + pageSize - 1) / pageSize
        put(UInt32(subBlocks), at: 432)
        put(UInt32(bitmapBlocks), at: 436)
        put(UInt32(maxMapnr), at: 440)
        pad(to: pageSize * (1 + subBlocks))
        let sub = pageSize
        put(UInt64(0x1000000), at: sub + 0)                              // phys_base
        if version >= 1 { put(Int32(31), at: sub + 8) }
        if version >= 2, let split {
            put(Int32(1), at: sub + 12)
            put(split.lowerBound, at: sub + 16)
            put(split.upperBound, at: sub + 24)
        }
        if version >= 3 {
            put(UInt64(descAt), at: sub + 32)
            put(UInt64(info.count), at: sub + 40)
        }
        if version >= 4 {
            put(UInt64(pageSize + 104), at: sub + 48)
            put(UInt64(note.count), at: sub + 56)
            out.replaceSubrange((pageSize + 104)..<(pageSize + 104 + note.count), with: note)
        }
        if version >= 6 {
            put(split?.lowerBound ?? 0, at: sub + 80)
            put(split?.upperBound ?? 0, at: sub + 88)
            put(maxMapnr, at: sub + 96)
        }

        // Bitmaps.
        let bitmapAt = pageSize * (1 + subBlocks)
        pad(to: bitmapAt + bitmapBlocks * pageSize)
        for pfn in 0..<maxMapnr where !holes.contains(pfn) {
            out[bitmapAt + Int(pfn / 8)] |= 1 << (pfn % 8)
            if !excluded.contains(pfn) { out[bitmapAt + bitmapBytes + Int(pfn / 8)] |= 1 << (pfn % 8) }
        }

        // Descriptors, then the zero page, then the data.
        var layout = Layout()
        layout.descriptors = out.count
        let dumped = dumpedPFNs
        let dataStart = out.count + dumped.count * 24
        pad(to: dataStart)
        let zeroAt = out.count
        out += [UInt8](repeating: 0, count: pageSize)
        layout.firstPageData = out.count
        for (i, pfn) in dumped.enumerated() {
            let page = Self.content(pfn: pfn)
            let d = layout.descriptors + i * 24
            layout.descriptorOf[pfn] = d
            if page.allSatisfy({ $0 == 0 }) {
                put(UInt64(zeroAt), at: d); put(UInt32(pageSize), at: d + 8); put(UInt32(0), at: d + 12)
                continue
            }
            var stored = Self.compress(page, method)
            var flags = method.flag
            if stored.count >= pageSize { stored = page; flags = 0 }
            put(UInt64(out.count), at: d); put(UInt32(stored.count), at: d + 8); put(flags, at: d + 12)
            out += stored
        }
        return (out, layout)
    }

    /// The same file in the flattened format: records of uneven sizes, and a bogus first block
    /// written first and overwritten by the real one at the end (later records win).
    static func flatten(_ file: [UInt8], overwriteFirstBlock: Bool = true) -> [UInt8] {
        var out = Array("makedumpfile".utf8) + [0, 0, 0, 0]
        func be64(_ v: Int64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        out += be64(1) + be64(1)
        out += [UInt8](repeating: 0, count: 4096 - out.count)
        if overwriteFirstBlock { out += be64(0) + be64(600) + [UInt8](repeating: 0xee, count: 600) }
        var at = 0
        var step = 1000
        while at < file.count {
            let n = min(step, file.count - at)
            out += be64(Int64(at)) + be64(Int64(n)) + file[at..<(at + n)]
            at += n
            step = step * 7 % 9973 + 100
        }
        if overwriteFirstBlock { out += be64(0) + be64(4096) + file[0..<4096] }
        out += be64(-1) + be64(-1)
        return out
    }
}

/// Temporary files for one test, removed at the end.
final class TemporaryFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-kdump-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs xz on `path` with `arguments`, keeping the input; returns the .xz path.
    func xz(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xz")
        process.arguments = arguments + ["-k", "-f", path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path + ".xz"
    }
}
