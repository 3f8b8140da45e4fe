import Foundation

/// makedumpfile -F's flattened (stream) form of a dump: a 4096-byte header ("makedumpfile",
/// type 1, version 1, big-endian), then one record {offset, size} (big-endian int64) plus data
/// for every write of the real file, in the order it was made, and an end marker of -1, -1.
/// `makedumpfile -R` turns it back into the file byte for byte.
final class FlattenedSink: DumpSink {
    private let file: FileSink
    private var position: UInt64 = 0
    private var buffer: [UInt8] = []
    private static let flushAt = 4 << 20

    init(path: String) throws {
        file = try FileSink(path: path)
        var header = [UInt8](repeating: 0, count: 4096)
        header.replaceSubrange(0..<12, with: Array("makedumpfile".utf8))
        header.replaceSubrange(16..<24, with: FlattenedSink.bigEndian(1))   // type: flat header
        header.replaceSubrange(24..<32, with: FlattenedSink.bigEndian(1))   // version
        buffer = header
    }

    static func bigEndian(_ v: Int64) -> [UInt8] {
        let u = UInt64(bitPattern: v)
        return (0..<8).map { UInt8(truncatingIfNeeded: u >> (56 - 8 * UInt64($0))) }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        guard !bytes.isEmpty else { return }
        buffer += FlattenedSink.bigEndian(Int64(offset)) + FlattenedSink.bigEndian(Int64(bytes.count))
        buffer.append(contentsOf: bytes)
        if buffer.count >= FlattenedSink.flushAt { try flush() }
    }

    func finish() throws {
        buffer += FlattenedSink.bigEndian(-1) + FlattenedSink.bigEndian(-1)
        try flush()
    }

    private func flush() throws {
        try file.write(buffer, at: position)
        position += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
