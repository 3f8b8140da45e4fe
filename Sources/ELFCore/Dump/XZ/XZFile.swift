import CCompression
#if canImport(Glibc)
import Glibc
#endif

/// An .xz file's block index, read from the end of the file through liblzma, and the decoding
/// of one block or of the whole file. Only single-stream files without stream padding are
/// indexed; anything else is decompressed whole.
struct XZFile {
    struct Block {
        let compressedOffset: UInt64      // of the block header, in the .xz file
        let unpaddedSize: UInt64
        let uncompressedOffset: UInt64
        let uncompressedSize: UInt64
    }

    let file: MappedFile
    let blocks: [Block]
    let uncompressedSize: UInt64
    let check: lzma_check

    static let magic: [UInt8] = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]
    static let headerSize: UInt64 = 12    // stream header and footer are 12 bytes each

    static func hasMagic(_ file: MappedFile) -> Bool {
        guard let p = file.pointer(at: 0, count: 6) else { return false }
        return Array(UnsafeRawBufferPointer(start: p, count: 6)) == magic
    }

    /// Throws when `file` cannot be a whole .xz file: no stream footer at its end, after any
    /// stream padding (zero bytes). A file cut short is refused here, in one message, before a
    /// caller announces a long decompression.
    static func requireFooter(_ file: MappedFile) throws {
        var end = file.size
        let paddingLimit = min(file.size, 1 << 20)     // padding longer than this: not a footer
        while end >= 4, file.size - end < paddingLimit,
              let p = file.pointer(at: end - 4, count: 4), p.loadUnaligned(as: UInt32.self) == 0 { end -= 4 }
        var flags = lzma_stream_flags()
        guard end >= 2 * headerSize, let footer = file.pointer(at: end - headerSize, count: headerSize),
              lzma_stream_footer_decode(&flags, footer.assumingMemoryBound(to: UInt8.self)) == LZMA_OK else {
            throw InputError(file: file.path, reason: "corrupt .xz: no stream footer at its end (the file is truncated)")
        }
    }

    /// The index of a single-stream file, or nil when the file has another shape (several
    /// streams, padding) that only a full decompression handles. Throws on a corrupt index.
    static func index(of file: MappedFile) throws -> XZFile? {
        let path = file.path
        guard file.size >= 2 * headerSize,
              let header = file.pointer(at: 0, count: headerSize),
              let footer = file.pointer(at: file.size - headerSize, count: headerSize) else {
            throw InputError(file: path, reason: "truncated .xz file (\(file.size) bytes)")
        }
        var headerFlags = lzma_stream_flags(), footerFlags = lzma_stream_flags()
        guard lzma_stream_header_decode(&headerFlags, header.assumingMemoryBound(to: UInt8.self)) == LZMA_OK else {
            throw InputError(file: path, reason: "corrupt .xz stream header")
        }
        // A footer that does not decode: stream padding or a cut file; the full decoder says which.
        guard lzma_stream_footer_decode(&footerFlags, footer.assumingMemoryBound(to: UInt8.self)) == LZMA_OK,
              lzma_stream_flags_compare(&headerFlags, &footerFlags) == LZMA_OK else { return nil }
        let indexSize = footerFlags.backward_size
        guard indexSize > 0, indexSize <= file.size - 2 * headerSize,
              let indexStart = file.pointer(at: file.size - headerSize - indexSize, count: indexSize) else { return nil }

        var index: OpaquePointer?
        var memlimit: UInt64 = 1 << 28
        var position = 0
        guard lzma_index_buffer_decode(&index, &memlimit, nil, indexStart.assumingMemoryBound(to: UInt8.self), &position, Int(indexSize)) == LZMA_OK,
              let index else {
            throw InputError(file: path, reason: "corrupt .xz block index")
        }
        defer { lzma_index_end(index, nil) }
        // One stream exactly filling the file; otherwise (concatenated streams) decode it whole.
        guard lzma_index_stream_size(index) == file.size else { return nil }
        var iterator = lzma_index_iter()
        lzma_index_iter_init(&iterator, index)
        var blocks: [Block] = []
        while lzma_index_iter_next(&iterator, LZMA_INDEX_ITER_NONEMPTY_BLOCK) == 0 {
            let b = iterator.block
            blocks.append(Block(compressedOffset: b.compressed_file_offset, unpaddedSize: b.unpadded_size,
                                uncompressedOffset: b.uncompressed_file_offset, uncompressedSize: b.uncompressed_size))
        }
        return XZFile(file: file, blocks: blocks, uncompressedSize: lzma_index_uncompressed_size(index), check: footerFlags.check)
    }

    /// Index of the block holding uncompressed `offset`.
    func blockIndex(containing offset: UInt64) -> Int? {
        var low = 0, high = blocks.count
        while low < high {
            let mid = (low + high) / 2
            if blocks[mid].uncompressedOffset <= offset { low = mid + 1 } else { high = mid }
        }
        let i = low - 1
        guard i >= 0, offset - blocks[i].uncompressedOffset < blocks[i].uncompressedSize else { return nil }
        return i
    }

    /// Decodes block `i` into `output` (exactly its uncompressed size).
    func decode(block i: Int, into output: UnsafeMutableRawBufferPointer) throws {
        let b = blocks[i]
        let path = file.path
        guard let out = output.baseAddress, UInt64(output.count) == b.uncompressedSize,
              let start = file.pointer(at: b.compressedOffset, count: 1) else {
            throw InputError(file: path, reason: "corrupt .xz: block \(i + 1) lies outside the file")
        }
        let available = Int(file.size - b.compressedOffset)
        var filters = [lzma_filter](repeating: lzma_filter(id: UInt64.max, options: nil), count: 5)   // LZMA_FILTERS_MAX + 1
        var block = lzma_block()
        block.version = 1
        block.check = check
        block.header_size = (UInt32(start.load(as: UInt8.self)) + 1) * 4
        let input = start.assumingMemoryBound(to: UInt8.self)
        let rc: lzma_ret = filters.withUnsafeMutableBufferPointer { f in
            block.filters = f.baseAddress
            defer { for filter in f where filter.id != UInt64.max { free(filter.options) } }
            guard Int(block.header_size) <= available else { return LZMA_DATA_ERROR }
            var rc = lzma_block_header_decode(&block, nil, input)
            guard rc == LZMA_OK else { return rc }
            rc = lzma_block_compressed_size(&block, b.unpaddedSize)
            guard rc == LZMA_OK else { return rc }
            var inPosition = Int(block.header_size), outPosition = 0   // the data follows the header
            rc = lzma_block_buffer_decode(&block, nil, input, &inPosition, available,
                                          out.assumingMemoryBound(to: UInt8.self), &outPosition, output.count)
            guard rc == LZMA_OK else { return rc }
            return outPosition == output.count ? LZMA_OK : LZMA_DATA_ERROR
        }
        guard rc == LZMA_OK else {
            throw InputError(file: path, reason: "corrupt .xz: block \(i + 1) (at offset \(b.compressedOffset)) does not decompress (\(Self.describe(rc)))")
        }
    }

    static func describe(_ rc: lzma_ret) -> String {
        switch rc {
        case LZMA_DATA_ERROR: return "data error"
        case LZMA_FORMAT_ERROR: return "not .xz data"
        case LZMA_OPTIONS_ERROR: return "unsupported options"
        case LZMA_BUF_ERROR: return "unexpected end of input"
        case LZMA_MEM_ERROR: return "out of memory"
        case LZMA_MEMLIMIT_ERROR: return "memory limit reached"
        default: return "liblzma error \(rc.rawValue)"
        }
    }

    /// Decompresses the whole of `file` into a new temporary file and returns its path.
    static func decompressToTemporary(_ file: MappedFile, label: String) throws -> String {
        let path = file.path
        let dir = ProcessInfoTemporary.directory
        var template = Array("\(dir)/vmowner-\(label)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw InputError(file: path, reason: "cannot create a temporary file in \(dir) to decompress into: \(String(cString: strerror(errno)))") }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(tempPath) }
        }
        var stream = lzma_stream()
        guard lzma_stream_decoder(&stream, UInt64.max, 0x08 /* LZMA_CONCATENATED: a macro Swift does not see */) == LZMA_OK else {
            throw InputError(file: path, reason: "liblzma cannot start a decoder")
        }
        defer { lzma_end(&stream) }
        guard let input = file.pointer(at: 0, count: file.size) else { throw InputError(file: path, reason: "empty .xz file") }
        stream.next_in = input.assumingMemoryBound(to: UInt8.self)
        stream.avail_in = Int(file.size)
        let chunk = 1 << 20
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { buffer.deallocate() }
        while true {
            stream.next_out = buffer
            stream.avail_out = chunk
            let rc = lzma_code(&stream, LZMA_FINISH)
            let produced = chunk - stream.avail_out
            var written = 0
            while written < produced {
                let n = write(fd, buffer + written, produced - written)
                guard n > 0 else { throw InputError(file: path, reason: "cannot write the decompressed copy to \(tempPath): \(String(cString: strerror(errno)))") }
                written += n
            }
            if rc == LZMA_STREAM_END { break }
            guard rc == LZMA_OK else {
                let why = rc == LZMA_BUF_ERROR ? "the file is truncated" : describe(rc)
                throw InputError(file: path, reason: "corrupt .xz: \(why) (after \(stream.total_in) of \(file.size) bytes)")
            }
        }
        ok = true
        return tempPath
    }
}

enum ProcessInfoTemporary {
    static var directory: String {
        if let t = getenv("TMPDIR"), let s = Optional(String(cString: t)), !s.isEmpty { return s }
        return "/tmp"
    }
}
