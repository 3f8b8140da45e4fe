import Foundation

/// The uncompressed contents of a multi-block .xz file, read by seeking: a read decodes only
/// the blocks it touches. Decoded blocks are kept in a small cache bounded in bytes; two threads
/// wanting the same block wait for one decode, different blocks decode at once.
final class XZBytes: DumpBytes, @unchecked Sendable {
    let xz: XZFile
    var path: String { xz.file.path }
    var size: UInt64 { xz.uncompressedSize }

    /// Largest block read in place; bigger ones make the file worth decompressing whole.
    static let maxBlockSize: UInt64 = 256 << 20
    static let cacheBudget: UInt64 = 512 << 20

    private final class DecodedBlock {
        let data: UnsafeMutableRawBufferPointer
        init(size: Int) { data = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 16) }
        deinit { data.deallocate() }
    }

    private let condition = NSCondition()
    private var cached: [Int: DecodedBlock] = [:]
    private var recent: [Int] = []          // least recently used first
    private var decoding = Set<Int>()
    private let capacity: Int

    init(xz: XZFile) {
        self.xz = xz
        let largest = xz.blocks.map(\.uncompressedSize).max() ?? 1
        capacity = max(2, Int(Self.cacheBudget / max(largest, 1)))
    }

    func stablePointer(at offset: UInt64, count: Int) -> UnsafeRawPointer? { nil }

    func copy(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard contains(offset: offset, count: UInt64(buffer.count)) else { return false }
        guard let out = buffer.baseAddress else { return true }
        var done = 0
        while done < buffer.count {
            let at = offset + UInt64(done)
            guard let i = xz.blockIndex(containing: at) else { return false }
            let b = xz.blocks[i]
            let within = Int(at - b.uncompressedOffset)
            let n = min(buffer.count - done, Int(b.uncompressedSize) - within)
            let block = try decoded(i)
            (out + done).copyMemory(from: block.data.baseAddress! + within, byteCount: n)
            done += n
        }
        return true
    }

    private func decoded(_ i: Int) throws -> DecodedBlock {
        condition.lock()
        while true {
            if let block = cached[i] {
                if let r = recent.firstIndex(of: i) { recent.remove(at: r) }
                recent.append(i)
                condition.unlock()
                return block
            }
            if !decoding.contains(i) { break }
            condition.wait()
        }
        decoding.insert(i)
        condition.unlock()

        let block = DecodedBlock(size: Int(xz.blocks[i].uncompressedSize))
        var failure: Error?
        do { try xz.decode(block: i, into: block.data) } catch { failure = error }

        condition.lock()
        decoding.remove(i)
        if failure == nil {
            cached[i] = block
            recent.append(i)
            while recent.count > capacity { cached[recent.removeFirst()] = nil }
        }
        condition.broadcast()
        condition.unlock()
        if let failure { throw failure }
        return block
    }
}
