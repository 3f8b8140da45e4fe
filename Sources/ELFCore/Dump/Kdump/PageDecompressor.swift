import CCompression
import Foundation

/// Decompresses one page of a kdump-compressed dump with the library its descriptor names.
/// Safe to call from the walkers' threads at once.
enum PageDecompressor {
    enum Failure: Error { case unknownMethod(UInt32), failed(String) }

    private static let lzoReady: Bool = ccompression_lzo_init() == 0    // LZO_E_OK

    /// Decompresses `source` into exactly `output.count` bytes (one page).
    static func decompress(flags: UInt32, source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard let src = source.baseAddress, let dst = output.baseAddress else { throw Failure.failed("empty buffer") }
        let expected = output.count
        if flags & KdumpHeader.zlib != 0 {
            var length = uLongf(expected)
            let rc = uncompress(dst.assumingMemoryBound(to: Bytef.self), &length, src.assumingMemoryBound(to: Bytef.self), uLong(source.count))
            guard rc == Z_OK else { throw Failure.failed("zlib error \(rc)") }
            guard Int(length) == expected else { throw Failure.failed("zlib gave \(length) bytes, expected \(expected)") }
        } else if flags & KdumpHeader.lzo != 0 {
            guard lzoReady else { throw Failure.failed("liblzo2 failed to initialize") }
            var length = lzo_uint(expected)
            let rc = lzo1x_decompress_safe(src.assumingMemoryBound(to: UInt8.self), lzo_uint(source.count),
                                           dst.assumingMemoryBound(to: UInt8.self), &length, nil)
            guard rc == 0 else { throw Failure.failed("lzo error \(rc)") }
            guard Int(length) == expected else { throw Failure.failed("lzo gave \(length) bytes, expected \(expected)") }
        } else if flags & KdumpHeader.snappy != 0 {
            var length = 0
            guard snappy_uncompressed_length(src.assumingMemoryBound(to: CChar.self), source.count, &length) == SNAPPY_OK else {
                throw Failure.failed("snappy data has no valid length")
            }
            guard length == expected else { throw Failure.failed("snappy says \(length) bytes, expected \(expected)") }
            let rc = snappy_uncompress(src.assumingMemoryBound(to: CChar.self), source.count, dst.assumingMemoryBound(to: CChar.self), &length)
            guard rc == SNAPPY_OK, length == expected else { throw Failure.failed("snappy error \(rc.rawValue)") }
        } else if flags & KdumpHeader.zstd != 0 {
            // ZSTD_decompress would build and free a decompression context for every page.
            let n = ZstdContexts.shared.with { ZSTD_decompressDCtx($0, dst, expected, src, source.count) }
            guard ZSTD_isError(n) == 0 else { throw Failure.failed("zstd: \(String(cString: ZSTD_getErrorName(n)))") }
            guard n == expected else { throw Failure.failed("zstd gave \(n) bytes, expected \(expected)") }
        } else {
            throw Failure.unknownMethod(flags)
        }
    }
}

/// Reusable zstd decompression contexts, one per thread in use.
final class ZstdContexts: @unchecked Sendable {
    static let shared = ZstdContexts()
    private let lock = NSLock()
    private var free: [OpaquePointer] = []

    func with<T>(_ body: (OpaquePointer?) -> T) -> T {
        lock.lock()
        let context = free.popLast() ?? ZSTD_createDCtx()
        lock.unlock()
        defer {
            if let context {
                lock.lock()
                free.append(context)
                lock.unlock()
            }
        }
        return body(context)
    }
}
