import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a dump writer puts its bytes: "these bytes at this file offset".
protocol DumpSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    func finish() throws
}

extension DumpSink {
    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }
}

struct DumpWriteError: Error, CustomStringConvertible { let description: String }

/// A plain file written with pwrite; what is never written reads as zeros.
final class FileSink: DumpSink {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw DumpWriteError(description: "\(path): cannot create (errno \(errno))") }
    }

    deinit { close(fd) }

    /// Sets the file size (for sparse files whose tail is zero).
    func setSize(_ size: UInt64) throws {
        guard ftruncate(fd, off_t(size)) == 0 else { throw DumpWriteError(description: "\(path): ftruncate failed (errno \(errno))") }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            guard n > 0 else { throw DumpWriteError(description: "\(path): write failed (errno \(errno))") }
            done += n
        }
    }

    func finish() throws {}
}
