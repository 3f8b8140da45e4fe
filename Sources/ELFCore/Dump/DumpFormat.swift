import Foundation

/// Recognizes a dump's format by its magic bytes, never by the file name, and stacks the
/// readers: an .xz or flattened container around a kdump-compressed or ELF dump.
public enum DumpFormat {
    /// Opens the dump at `path`. `note` hears about slow steps (decompressing a whole .xz).
    public static func open(path: String, note: (String) -> Void = DumpFormat.noteToStandardError) throws -> PhysicalMemory {
        let file = try MappedFile(path: path)
        guard file.size >= 8 else {
            throw InputError(file: path, reason: "too short to be a crash dump (\(file.size) bytes)")
        }
        if XZFile.hasMagic(file) { return try XZDump.open(file: file, note: note) }
        return try open(bytes: MappedBytes(file: file), containers: [])
    }

    /// Opens the dump in `bytes`; `containers` says what it was found in, outermost last.
    public static func open(bytes: DumpBytes, containers: [String]) throws -> PhysicalMemory {
        let head = try bytes.bytes(at: 0, count: Int(min(bytes.size, 16)), what: "file header")
        if head.count >= 4, head[0..<4] == [0x7f, 0x45, 0x4c, 0x46] {
            return try ELFCoreDump(bytes: bytes, containers: containers)
        }
        if KdumpHeader.isKdump(head) { return try KdumpCompressedDump(bytes: bytes, containers: containers) }
        if FlattenedBytes.isFlattened(head), !containers.contains("flattened") {
            return try open(bytes: FlattenedBytes(base: bytes), containers: ["flattened"] + containers)
        }
        if containers.isEmpty {
            throw InputError(file: bytes.path, reason: "not a crash dump (neither ELF, kdump-compressed, flattened nor .xz)")
        }
        throw InputError(file: bytes.path, reason: "the \(containers.joined(separator: " in ")) container holds no crash dump (neither ELF nor kdump-compressed)")
    }

    public static func noteToStandardError(_ message: String) {
        FileHandle.standardError.write(Data("vmowner: \(message)\n".utf8))
    }
}
