#if canImport(Glibc)
import Glibc
#endif

/// Opens an .xz-compressed dump: read in place through the block index when the file has
/// several blocks (`xz -T0`, `xz --block-size`), otherwise decompressed once to a temporary
/// file (removed as soon as it is mapped), with a note saying so.
public enum XZDump {
    static func open(file: MappedFile, note: (String) -> Void) throws -> PhysicalMemory {
        if let seekable = try openSeekable(file: file) { return seekable }
        try XZFile.requireFooter(file)
        note("\(file.path): one .xz block cannot be read in place; decompressing it to a temporary file (`xz -T0` or `xz --block-size=16MiB` writes seekable files)")
        let temporary = try XZFile.decompressToTemporary(file, label: "vmcore")
        defer { unlink(temporary) }     // the mapping keeps the data; nothing is left behind
        let plain = try MappedFile(path: temporary)
        return try DumpFormat.open(bytes: MappedBytes(file: plain, path: file.path), containers: ["xz"])
    }

    /// The dump read in place through the block index, or nil when the file is not seekable
    /// (one block, several streams, padding, blocks too large) and must be decompressed whole.
    public static func openSeekable(file: MappedFile) throws -> PhysicalMemory? {
        guard let xz = try XZFile.index(of: file), xz.blocks.count > 1,
              xz.blocks.allSatisfy({ $0.uncompressedSize <= XZBytes.maxBlockSize }) else { return nil }
        return try DumpFormat.open(bytes: XZBytes(xz: xz), containers: ["xz"])
    }
}

/// Inputs that may be compressed, for readers that need a plain file on disk (libelf reading
/// the vmlinux): the path itself, or a decompressed temporary copy removed when the process exits.
public enum CompressedInput {
    /// `path` when the file is not compressed; otherwise the path of a decompressed copy.
    /// `note` hears that a decompression is happening (it takes a few seconds).
    public static func plainPath(for path: String, note: (String) -> Void) throws -> String {
        let file = try MappedFile(path: path)
        guard XZFile.hasMagic(file) else { return path }
        try XZFile.requireFooter(file)
        note("\(path): decompressing the .xz to a temporary file")
        let temporary = try XZFile.decompressToTemporary(file, label: "input")
        TemporaryFiles.removeAtExit(temporary)
        return temporary
    }
}

/// Temporary files to delete when the process exits.
enum TemporaryFiles {
    nonisolated(unsafe) private static var paths: [String] = []
    private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        atexit { TemporaryFiles.removeAll() }
        return m
    }()

    static func removeAtExit(_ path: String) {
        pthread_mutex_lock(lock)
        paths.append(path)
        pthread_mutex_unlock(lock)
    }

    static func removeAll() {
        pthread_mutex_lock(lock)
        for p in paths { unlink(p) }
        paths.removeAll()
        pthread_mutex_unlock(lock)
    }
}
