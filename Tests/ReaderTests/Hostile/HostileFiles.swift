import Foundation
import Testing

/// Makes the crafted inputs of the corruption matrix: copies of a simulated dump or vmlinux with
/// bytes patched, data appended or the end cut off, written sparse (a simulated ELF vmcore is
/// mostly holes) so that hundreds of variants cost little disk and time.
enum HostileFiles {
    static let scratch: URL = {
        let dir = SimulatedDumps.root.appendingPathComponent("hostile")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// A file's bytes and where they are not zero, loaded once per path.
    final class Image: @unchecked Sendable {
        let path: String
        let bytes: [UInt8]
        /// Starts of the 64 KiB chunks that hold a non-zero byte.
        let filled: [Int]
        static let chunk = 1 << 16

        init(path: String) throws {
            self.path = path
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            var filled: [Int] = []
            // memcmp against zeros: a byte loop is slow in a debug build.
            let zeros = [UInt8](repeating: 0, count: Self.chunk)
            bytes.withUnsafeBytes { raw in
                for start in stride(from: 0, to: raw.count, by: Self.chunk)
                where memcmp(raw.baseAddress! + start, zeros, min(Self.chunk, raw.count - start)) != 0 {
                    filled.append(start)
                }
            }
            self.filled = filled
        }

        var size: Int { bytes.count }

        func le(_ at: Int, _ width: Int) -> UInt64 {
            guard at >= 0, at + width <= bytes.count else { return 0 }
            return (0..<width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[at + $1]) }
        }

        /// Writes a variant: `patches` applied, `append` put at `appendAt` (default: the end,
        /// 8-aligned), the result cut to `length` when given. Returns the new file's path.
        func variant(_ name: String, patches: [(Int, [UInt8])] = [], append: [UInt8] = [], appendAt: Int? = nil,
                     length: Int? = nil) throws -> String {
            let path = HostileFiles.scratch.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(name)").path
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
            defer { close(fd) }
            let tailAt = appendAt ?? (size + 7) & ~7
            let total = length ?? max(size, append.isEmpty ? 0 : tailAt + append.count)
            guard ftruncate(fd, off_t(total)) == 0 else { throw CocoaError(.fileWriteUnknown) }
            func put(_ data: UnsafeRawBufferPointer, at offset: Int) {
                guard offset < total, let base = data.baseAddress else { return }
                _ = pwrite(fd, base, min(data.count, total - offset), off_t(offset))
            }
            bytes.withUnsafeBytes { raw in
                for start in filled where start < total {
                    put(UnsafeRawBufferPointer(rebasing: raw[start..<min(start + Self.chunk, raw.count)]), at: start)
                }
            }
            for (offset, data) in patches { data.withUnsafeBytes { put($0, at: offset) } }
            if !append.isEmpty { append.withUnsafeBytes { put($0, at: tailAt) } }
            return path
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var images: [String: Image] = [:]

    static func image(_ path: String) throws -> Image {
        lock.lock()
        defer { lock.unlock() }
        if let image = images[path] { return image }
        let image = try Image(path: path)
        images[path] = image
        return image
    }

    static func le(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }
}

/// ELF notes (`namesz, descsz, type, name, desc`, 4-byte padded): enough to take a notes
/// segment apart and write it again with one note's text replaced.
struct NoteList {
    struct Note { var name: [UInt8]; var type: UInt32; var desc: [UInt8] }
    var notes: [Note]

    init(_ bytes: ArraySlice<UInt8>) {
        var notes: [Note] = []
        var at = bytes.startIndex
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        while at + 12 <= bytes.endIndex {
            let namesz = u32(at), descsz = u32(at + 4), type = UInt32(u32(at + 8))
            let nameAt = at + 12, descAt = nameAt + (namesz + 3) & ~3
            guard descAt + descsz <= bytes.endIndex else { break }
            notes.append(Note(name: Array(bytes[nameAt..<nameAt + namesz]), type: type, desc: Array(bytes[descAt..<descAt + descsz])))
            at = descAt + (descsz + 3) & ~3
        }
        self.notes = notes
    }

    var vmcoreinfoIndex: Int? { notes.firstIndex { $0.name.prefix { $0 != 0 } == Array("VMCOREINFO".utf8) } }

    var vmcoreinfo: String? { vmcoreinfoIndex.map { String(decoding: notes[$0].desc.prefix { $0 != 0 }, as: UTF8.self) } }

    /// The serialized notes and where the VMCOREINFO desc starts in them.
    func bytes() -> (bytes: [UInt8], vmcoreinfoAt: Int) {
        var out: [UInt8] = []
        var infoAt = 0
        for (i, note) in notes.enumerated() {
            out += HostileFiles.le(UInt64(note.name.count), 4) + HostileFiles.le(UInt64(note.desc.count), 4) + HostileFiles.le(UInt64(note.type), 4)
            out += note.name + [UInt8](repeating: 0, count: (4 - note.name.count % 4) % 4)
            if i == vmcoreinfoIndex { infoAt = out.count }
            out += note.desc + [UInt8](repeating: 0, count: (4 - note.desc.count % 4) % 4)
        }
        return (out, infoAt)
    }
}

/// VMCOREINFO text edits and the rewrites that put a new note into an ELF or kdump dump.
enum VMCoreInfoRewrite {
    /// `text` with KEY's value replaced (or the line added).
    static func set(_ key: String, to value: String, in text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if let i = lines.firstIndex(where: { $0.hasPrefix(key + "=") }) {
            lines[i] = "\(key)=\(value)"
        } else {
            lines.insert("\(key)=\(value)", at: 0)
        }
        return lines.joined(separator: "\n")
    }

    static func elfProgramHeaders(_ image: HostileFiles.Image) -> [(at: Int, type: UInt32, offset: Int, filesz: Int)] {
        let phoff = Int(image.le(32, 8)), phentsize = Int(image.le(54, 2)), phnum = Int(image.le(56, 2))
        return (0..<phnum).map { i in
            let at = phoff + i * phentsize
            return (at, UInt32(image.le(at, 4)), Int(image.le(at + 8, 8)), Int(image.le(at + 32, 8)))
        }
    }

    /// The notes of a dump and where they are: the PT_NOTE segment of an ELF, the notes the
    /// kdump sub-header points at.
    static func notes(_ image: HostileFiles.Image) throws -> NoteList {
        let (offset, size) = try noteSpan(image)
        return NoteList(image.bytes[offset..<offset + size])
    }

    static func isKdump(_ image: HostileFiles.Image) -> Bool { image.bytes.starts(with: Array("KDUMP   ".utf8)) }

    static func noteSpan(_ image: HostileFiles.Image) throws -> (Int, Int) {
        if isKdump(image) {
            let sub = Int(image.le(428, 4))
            return (Int(image.le(sub + 48, 8)), Int(image.le(sub + 56, 8)))
        }
        let note = try #require(elfProgramHeaders(image).first { $0.type == 4 })
        return (note.offset, note.filesz)
    }

    /// A copy of the dump whose VMCOREINFO is `text`: the notes are written again at the end
    /// of the file and the ELF PT_NOTE header (or the kdump sub-header's note and VMCOREINFO
    /// fields, both copies) point there.
    static func variant(of image: HostileFiles.Image, text: String, name: String) throws -> String {
        var list = try notes(image)
        let index = try #require(list.vmcoreinfoIndex)
        list.notes[index].desc = Array(text.utf8)
        let (blob, infoAt) = list.bytes()
        let at = (image.size + 7) & ~7
        if isKdump(image) {
            let sub = Int(image.le(428, 4))
            let patches = [(sub + 32, HostileFiles.le(UInt64(at + infoAt), 8)), (sub + 40, HostileFiles.le(UInt64(text.utf8.count), 8)),
                           (sub + 48, HostileFiles.le(UInt64(at), 8)), (sub + 56, HostileFiles.le(UInt64(blob.count), 8))]
            return try image.variant(name, patches: patches, append: blob, appendAt: at)
        }
        let note = try #require(elfProgramHeaders(image).first { $0.type == 4 })
        let patches = [(note.at + 8, HostileFiles.le(UInt64(at), 8)), (note.at + 32, HostileFiles.le(UInt64(blob.count), 8)),
                       (note.at + 40, HostileFiles.le(UInt64(blob.count), 8))]
        return try image.variant(name, patches: patches, append: blob, appendAt: at)
    }
}
