/// Splits page_owner text into blocks the way page_owner_sort's reader does: lines are
/// gathered until an empty line; a line starting with "PFN" is set aside (the last one seen,
/// for the allocator class) instead of joining the block; a block with no empty line after it
/// (the end of the input) is dropped. As with fgets/strlen, a line holding a NUL byte is cut
/// there and loses its newline; a block that would not fit the tool's 128 KiB buffer ends the
/// input.
struct SortBlockReader {
    static let bufferSize = 128 * 1024

    /// The block's lines, without the PFN line.
    private(set) var block: [UInt8] = []
    /// The last PFN line read, in this block or an earlier one.
    private(set) var pfnLine: [UInt8] = []
    private var partial: [UInt8] = []
    private(set) var stopped = false

    init() { block.reserveCapacity(4096) }

    /// Feeds bytes; calls `emit` with each finished block (the text the tool searches is the
    /// block plus the newline of the empty line that ended it).
    mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (_ searched: UnsafeBufferPointer<UInt8>, _ length: Int, _ pfnLine: UnsafeBufferPointer<UInt8>) -> Void) {
        guard !stopped, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let all = UnsafeBufferPointer(start: base, count: bytes.count)
        var start = 0
        while start < all.count, !stopped {
            guard let newline = Self.index(of: 0x0a, in: all, from: start) else {
                partial.append(contentsOf: all[start...])
                return
            }
            if partial.isEmpty {
                line(UnsafeBufferPointer(rebasing: all[start...newline]), emit: emit)
            } else {
                partial.append(contentsOf: all[start...newline])
                let whole = partial
                partial.removeAll(keepingCapacity: true)
                whole.withUnsafeBufferPointer { line($0, emit: emit) }
            }
            start = newline + 1
        }
    }

    private mutating func line(_ raw: UnsafeBufferPointer<UInt8>, emit: (UnsafeBufferPointer<UInt8>, Int, UnsafeBufferPointer<UInt8>) -> Void) {
        // fgets keeps the NUL; strlen stops at it.
        let text = Self.index(of: 0, in: raw, from: 0).map { UnsafeBufferPointer(rebasing: raw[..<$0]) } ?? raw
        if text.first == 0x0a {
            let length = block.count
            block.append(0x0a)
            block.withUnsafeBufferPointer { b in pfnLine.withUnsafeBufferPointer { emit(b, length, $0) } }
            block.removeAll(keepingCapacity: true)
            return
        }
        guard block.count + raw.count < Self.bufferSize else { stopped = true; return }
        if text.count >= 3, text[0] == UInt8(ascii: "P"), text[1] == UInt8(ascii: "F"), text[2] == UInt8(ascii: "N") {
            pfnLine.removeAll(keepingCapacity: true)
            pfnLine.append(contentsOf: text)
            return
        }
        block.append(contentsOf: text)
    }

    static func index(of byte: UInt8, in s: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard from < s.count, let base = s.baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), s.count - from) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }
}

#if canImport(Glibc)
import Glibc
#endif
