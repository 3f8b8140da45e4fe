import CCompression

/// What a file the user named is, told by its content, never by its name: the kernel image
/// (an ELF executable: ET_EXEC, or ET_DYN for relocatable kernels) or a crash dump (an ELF
/// core, kdump-compressed, flattened), either of them possibly .xz-compressed.
public enum InputKind: Equatable, Sendable {
    case vmlinux
    case dump

    public static func of(path: String) throws -> InputKind {
        let file = try MappedFile(path: path)
        let headSize = Int(min(file.size, 64))
        var head = file.pointer(at: 0, count: UInt64(headSize)).map { Array(UnsafeRawBufferPointer(start: $0, count: headSize)) } ?? []
        var inner = ""
        if XZFile.hasMagic(file) {
            head = XZFile.prefix(of: file, count: 64)
            inner = " inside the .xz"
        }
        if let kind = kind(of: head) { return kind }
        if head.count < 18 {
            throw InputError(file: path, reason: "too short to be a crash dump or a vmlinux (\(head.count) bytes\(inner))")
        }
        throw InputError(file: path, reason: "not a crash dump (ELF core, kdump-compressed or flattened) and not a vmlinux (ELF executable)\(inner)")
    }

    static func kind(of head: [UInt8]) -> InputKind? {
        if head.count >= 18, head[0..<4] == [0x7f, 0x45, 0x4c, 0x46] {
            switch UInt16(head[16]) | UInt16(head[17]) << 8 {    // e_type, little-endian
            case 4: return .dump                                  // ET_CORE
            case 2, 3: return .vmlinux                            // ET_EXEC, ET_DYN
            default: return nil
            }
        }
        if KdumpHeader.isKdump(head) || FlattenedBytes.isFlattened(Array(head.prefix(16))) { return .dump }
        return nil
    }
}

extension XZFile {
    /// The first `count` decompressed bytes of an .xz file (fewer when it decodes to less or
    /// is corrupt there), without decompressing the rest.
    static func prefix(of file: MappedFile, count: Int) -> [UInt8] {
        var stream = lzma_stream()
        guard count > 0, let input = file.pointer(at: 0, count: file.size),
              lzma_stream_decoder(&stream, 1 << 30, 0) == LZMA_OK else { return [] }
        defer { lzma_end(&stream) }
        var out = [UInt8](repeating: 0, count: count)
        let produced: Int = out.withUnsafeMutableBufferPointer { buffer in
            stream.next_in = input.assumingMemoryBound(to: UInt8.self)
            stream.avail_in = Int(file.size)
            stream.next_out = buffer.baseAddress
            stream.avail_out = count
            var rounds = 0
            while stream.avail_out > 0, rounds < 1 << 16, lzma_code(&stream, LZMA_RUN) == LZMA_OK { rounds += 1 }
            return count - stream.avail_out
        }
        return Array(out.prefix(produced))
    }
}
