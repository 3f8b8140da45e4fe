/// The flattened format (makedumpfile -F, QEMU's kdump output before 8.2): a 4096-byte header,
/// then records `{be64 offset; be64 size; bytes}`, each meaning "these bytes go at this offset of
/// the real kdump file", up to an end marker of two -1s. The records are indexed once, so the
/// dump is read in place without reassembling it.
public final class FlattenedBytes: DumpBytes, @unchecked Sendable {
    public let base: DumpBytes
    public var path: String { base.path }
    public let size: UInt64
    /// The file ended before the end marker (a dump cut short); what is there is still read.
    public let truncated: Bool
    /// Non-overlapping pieces of the logical file, sorted by logical offset.
    private let pieces: [Piece]

    struct Piece {
        let logical: UInt64
        let length: UInt64
        let stored: UInt64     // offset in `base`
    }

    static let headerSize: UInt64 = 4096
    static let signature = Array("makedumpfile".utf8)

    public static func isFlattened(_ head: [UInt8]) -> Bool {
        head.count >= 16 && Array(head[0..<12]) == signature && head[12..<16].allSatisfy { $0 == 0 }
    }

    public init(base: DumpBytes) throws {
        self.base = base
        let path = base.path
        let header = try base.bytes(at: 0, count: 32, what: "flattened header")
        guard Self.isFlattened(header) else { throw InputError(file: path, reason: "not a flattened dump (no makedumpfile signature)") }
        let type = header.be(Int64.self, 16), version = header.be(Int64.self, 24)
        guard type == 1 else { throw InputError(file: path, reason: "flattened header has type \(type), expected 1") }
        guard version == 1 else { throw InputError(file: path, reason: "flattened header version \(version) is not supported (expected 1)") }

        var records: [Piece] = []
        var at = Self.headerSize
        var ended = false
        // Each record takes at least 16 bytes, which bounds the loop by the file size.
        while base.contains(offset: at, count: 16) {
            let head = try base.bytes(at: at, count: 16, what: "flattened record header")
            let offset = head.be(Int64.self, 0), length = head.be(Int64.self, 8)
            if offset == -1 && length == -1 { ended = true; break }
            guard offset >= 0, length >= 0, !UInt64(offset).addingReportingOverflow(UInt64(length)).overflow else {
                throw InputError(file: path, reason: "corrupt flattened record at offset \(at): target offset \(offset), size \(length)")
            }
            let data = at + 16
            let available = base.size - data
            let kept = min(UInt64(length), available)
            if kept > 0 { records.append(Piece(logical: UInt64(offset), length: kept, stored: data)) }
            if kept < UInt64(length) { break }        // cut off inside this record
            at = data + kept
        }
        truncated = !ended
        pieces = Self.resolveOverlaps(records)
        size = pieces.map { $0.logical + $0.length }.max() ?? 0
        // Indexing touched a page of every record; let them go from the resident set.
        if let mapped = base as? MappedBytes, let start = mapped.file.pointer(at: 0, count: mapped.file.size) {
            MappedFile.releaseResidentPages(start, count: Int(mapped.file.size))
        }
    }

    /// Later records overwrite earlier ones, as writing them to a file would. Records rarely
    /// overlap, so the common case is a sort; otherwise a sweep keeps the latest at each byte.
    static func resolveOverlaps(_ records: [Piece]) -> [Piece] {
        let order = records.indices.sorted { (records[$0].logical, $0) < (records[$1].logical, $1) }
        var overlapping = false
        for (a, b) in zip(order, order.dropFirst()) where records[a].logical + records[a].length > records[b].logical {
            overlapping = true
            break
        }
        if !overlapping { return order.map { records[$0] } }

        // Sweep over every boundary; among the records covering a stretch the latest wins.
        var bounds = Set<UInt64>()
        for r in records { bounds.insert(r.logical); bounds.insert(r.logical + r.length) }
        let points = bounds.sorted()
        var heap = MaxHeap()
        var next = 0
        var out: [Piece] = []
        for (start, end) in zip(points, points.dropFirst()) {
            while next < order.count, records[order[next]].logical <= start { heap.push(order[next]); next += 1 }
            while let top = heap.top, records[top].logical + records[top].length <= start { heap.pop() }
            guard let winner = heap.top else { continue }
            let r = records[winner]
            let piece = Piece(logical: start, length: end - start, stored: r.stored + (start - r.logical))
            if let last = out.last, last.logical + last.length == start, last.stored + last.length == piece.stored {
                out[out.count - 1] = Piece(logical: last.logical, length: last.length + piece.length, stored: last.stored)
            } else {
                out.append(piece)
            }
        }
        return out
    }

    /// Index of the piece holding `offset`, or of the first piece after it.
    private func pieceIndex(_ offset: UInt64) -> Int {
        var low = 0, high = pieces.count
        while low < high {
            let mid = (low + high) / 2
            if pieces[mid].logical + pieces[mid].length <= offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    public func stablePointer(at offset: UInt64, count: Int) -> UnsafeRawPointer? {
        guard count >= 0 else { return nil }
        let i = pieceIndex(offset)
        guard i < pieces.count, pieces[i].logical <= offset,
              offset - pieces[i].logical + UInt64(count) <= pieces[i].length else { return nil }
        return base.stablePointer(at: pieces[i].stored + (offset - pieces[i].logical), count: count)
    }

    /// Bytes no record wrote read as zeros, as they would in the reassembled file.
    public func copy(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard contains(offset: offset, count: UInt64(buffer.count)) else { return false }
        guard let out = buffer.baseAddress else { return true }
        var done = 0
        var i = pieceIndex(offset)
        while done < buffer.count {
            let at = offset + UInt64(done)
            let left = buffer.count - done
            guard i < pieces.count else { (out + done).initializeMemory(as: UInt8.self, repeating: 0, count: left); break }
            let p = pieces[i]
            if at < p.logical {
                let gap = Int(min(UInt64(left), p.logical - at))
                (out + done).initializeMemory(as: UInt8.self, repeating: 0, count: gap)
                done += gap
                continue
            }
            let n = Int(min(UInt64(left), p.logical + p.length - at))
            guard try base.copy(at: p.stored + (at - p.logical), into: UnsafeMutableRawBufferPointer(start: out + done, count: n)) else { return false }
            done += n
            i += 1
        }
        return true
    }
}

/// A binary max-heap of record indexes (the latest record has the largest index).
struct MaxHeap {
    private var items: [Int] = []
    var top: Int? { items.first }

    mutating func push(_ value: Int) {
        items.append(value)
        var i = items.count - 1
        while i > 0, items[(i - 1) / 2] < items[i] { items.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, items[l] > items[m] { m = l }
            if r < items.count, items[r] > items[m] { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
    }
}
