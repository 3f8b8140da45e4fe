import CCompression

/// The compressors a kdump-compressed dump can name, with the page-descriptor and header flag
/// each one has, and the settings makedumpfile uses (zlib Z_BEST_SPEED, lzo1x_1, zstd level 1).
enum PageCompression: String, CaseIterable {
    case zlib, lzo, snappy, zstd

    /// DUMP_DH_COMPRESSED_* (header status) = page_desc flags.
    var flag: UInt32 {
        switch self {
        case .zlib: return 0x1
        case .lzo: return 0x2
        case .snappy: return 0x4
        case .zstd: return 0x20
        }
    }
}

/// Compresses one 4 KiB page at a time. Holds its own work memory, so each thread needs one.
final class PageCompressor {
    let kind: PageCompression
    /// Room for the largest output of any of the compressors for one page.
    static var outputCapacity: Int { Int(MachineLayout.pageSize) * 2 + 1024 }
    private var lzoWork: UnsafeMutableRawPointer?
    private var zstd: OpaquePointer?

    struct Failed: Error, CustomStringConvertible { let description: String }

    init(_ kind: PageCompression) throws {
        self.kind = kind
        switch kind {
        case .lzo:
            guard ccompression_lzo_init() == LZO_E_OK else { throw Failed(description: "lzo_init failed") }
            // LZO1X_1_MEM_COMPRESS: 16384 dictionary entries of one pointer each.
            lzoWork = UnsafeMutableRawPointer.allocate(byteCount: 16384 * MemoryLayout<UnsafeRawPointer>.size, alignment: 16)
        case .zstd:
            guard let c = ZSTD_createCCtx() else { throw Failed(description: "ZSTD_createCCtx failed") }
            zstd = c
        case .zlib, .snappy:
            break
        }
    }

    deinit {
        lzoWork?.deallocate()
        if let zstd { ZSTD_freeCCtx(zstd) }
    }

    /// Compresses `page` (4096 bytes) into `out` (outputCapacity bytes); returns the size, or
    /// nil when the library fails (the caller then stores the page raw).
    func compress(_ page: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int? {
        let src = page.baseAddress!
        switch kind {
        case .zlib:
            var n = uLongf(PageCompressor.outputCapacity)
            let rc = compress2(out.assumingMemoryBound(to: Bytef.self), &n, src.assumingMemoryBound(to: Bytef.self),
                               uLong(page.count), Z_BEST_SPEED)
            return rc == Z_OK ? Int(n) : nil
        case .lzo:
            var n = lzo_uint(PageCompressor.outputCapacity)
            let rc = lzo1x_1_compress(src.assumingMemoryBound(to: UInt8.self), lzo_uint(page.count),
                                      out.assumingMemoryBound(to: UInt8.self), &n, lzoWork)
            return rc == LZO_E_OK ? Int(n) : nil
        case .snappy:
            var n = PageCompressor.outputCapacity
            let rc = snappy_compress(src.assumingMemoryBound(to: CChar.self), page.count, out.assumingMemoryBound(to: CChar.self), &n)
            return rc == SNAPPY_OK ? n : nil
        case .zstd:
            let n = ZSTD_compressCCtx(zstd, out, PageCompressor.outputCapacity, src, page.count, 1)
            return ZSTD_isError(n) != 0 ? nil : n
        }
    }
}
