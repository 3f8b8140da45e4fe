import Foundation

/// Opens what the user named as the dump: one file, or the parts of a `makedumpfile --split`
/// dump. A part named alone brings the rest of its set from its own folder: makedumpfile
/// lets the user name every file, so the parts are recognized by their headers, not their
/// names.
public enum SplitDumpFiles {
    /// Folders this large are not searched file by file.
    static let maxFolderEntries = 4096

    public static func open(paths: [String]) throws -> PhysicalMemory {
        guard let first = paths.first else { throw InputError(file: "", reason: "no dump file given") }
        if paths.count == 1 {
            let dump = try DumpFormat.open(path: first)
            guard let part = dump as? KdumpCompressedDump, part.header.split else { return dump }
            return try openBeside(part)
        }
        let parts = try paths.map { path -> KdumpCompressedDump in
            let dump = try DumpFormat.open(path: path)
            guard let part = dump as? KdumpCompressedDump else {
                throw InputError(file: path, reason: "\(dump.formatName) dump given with other dump files: only the parts of one split kdump-compressed dump (makedumpfile --split) go together")
            }
            return part
        }
        return try SplitKdumpSet(parts: parts)
    }

    /// The set of `part`, with the other parts found beside it.
    static func openBeside(_ part: KdumpCompressedDump) throws -> SplitKdumpSet {
        let folder = (part.path as NSString).deletingLastPathComponent
        let siblings = siblingParts(of: part, in: folder.isEmpty ? "." : folder)
        do {
            return try SplitKdumpSet(parts: [part] + siblings)
        } catch let error as InputError {
            let found = siblings.isEmpty ? "no other part" : "\(siblings.count) other part\(siblings.count == 1 ? "" : "s")"
            throw InputError(file: error.file, reason: "\(error.reason) (\(part.path) is one part of a split dump; \(found) of it found beside it in \(folder.isEmpty ? "." : folder))")
        }
    }

    /// Split parts in `folder` of the same dump as `part` (first sieved by their
    /// disk_dump_header, then checked as SplitKdumpSet checks every part); files that cannot be
    /// opened are no part of the set.
    static func siblingParts(of part: KdumpCompressedDump, in folder: String) -> [KdumpCompressedDump] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder),
              names.count <= maxFolderEntries,
              let header = try? part.bytes.bytes(at: 0, count: 444, what: "disk_dump_header") else { return [] }
        let own = fileIdentity(part.path)
        var found: [KdumpCompressedDump] = []
        for name in names.sorted() {
            let path = folder.isEmpty ? name : (folder as NSString).appendingPathComponent(name)
            guard let id = fileIdentity(path), id != own,
                  let file = try? MappedFile(path: path), file.size >= 464,
                  let head = try? file.bytes(at: 0, count: 444, what: "disk_dump_header"),
                  Array(head) == header,
                  let dump = try? DumpFormat.open(path: path) as? KdumpCompressedDump,
                  dump.header.split,
                  (try? SplitKdumpSet.requireSameDump(dump, as: part)) != nil else { continue }
            found.append(dump)
        }
        return found
    }

    /// Device and inode of a regular file, nil for anything else.
    private static func fileIdentity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
