/// Recognizes a dump's format by its magic bytes, never by the file name.
public enum DumpFormat {
    public static func open(path: String) throws -> PhysicalMemory {
        let file = try MappedFile(path: path)
        guard let magic = file.pointer(at: 0, count: 8) else {
            throw InputError(file: path, reason: "too short to be a crash dump (\(file.size) bytes)")
        }
        let head = Array(UnsafeRawBufferPointer(start: magic, count: 8))
        if head[0..<4] == [0x7f, 0x45, 0x4c, 0x46] { return try ELFCoreDump(file: file) }
        let text = String(decoding: head, as: UTF8.self)
        if text == "KDUMP   " || text == "DISKDUMP" || text.hasPrefix("makedump") {
            throw InputError(file: path, reason: "kdump-compressed and flattened dumps are not supported yet; convert with `makedumpfile -E` to ELF")
        }
        throw InputError(file: path, reason: "not a crash dump (neither ELF nor kdump-compressed)")
    }
}
