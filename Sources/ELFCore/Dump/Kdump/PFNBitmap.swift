/// One of a kdump file's bitmaps: bit `pfn` (byte pfn>>3, LSB first) says the pfn is RAM (1st
/// bitmap) or is dumped (2nd bitmap). Ranks (set bits below a pfn) are counted per group of
/// 512 pfns once, so finding a page's descriptor costs at most 8 popcounts.
final class PFNBitmap: @unchecked Sendable {
    let pfnCount: UInt64
    private let words: UnsafePointer<UInt64>
    private let wordCount: Int
    private let owned: UnsafeMutablePointer<UInt64>?
    private var groupRanks: [UInt64] = []

    static let wordsPerGroup = 8     // 512 pfns
    static let maxCopiedBytes: UInt64 = 256 << 20

    /// Reads `byteCount` bytes of bitmap at `offset`; pointed to in place when the file allows.
    init(bytes: DumpBytes, offset: UInt64, byteCount: UInt64, what: String) throws {
        guard byteCount <= UInt64(Int.max / 2), bytes.contains(offset: offset, count: byteCount) else {
            throw InputError(file: bytes.path, reason: "truncated: the \(what) (\(byteCount) bytes at offset \(offset)) lies past the end of the file (\(bytes.size) bytes)")
        }
        wordCount = Int(byteCount / 8)
        pfnCount = UInt64(wordCount) * 64
        if let p = bytes.stablePointer(at: offset, count: wordCount * 8), Int(bitPattern: p) % 8 == 0 {
            words = p.assumingMemoryBound(to: UInt64.self)
            owned = nil
        } else {
            // A container (flattened, .xz) can claim a huge bitmap of zeros in a few bytes.
            guard byteCount <= Self.maxCopiedBytes else {
                throw InputError(file: bytes.path, reason: "the \(what) is \(byteCount) bytes, more than vmowner copies out of a container (\(Self.maxCopiedBytes >> 20) MiB, an 8 TiB machine); decompress the dump first")
            }
            let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: max(wordCount, 1))
            buffer.initialize(repeating: 0, count: max(wordCount, 1))
            guard try bytes.copy(at: offset, into: UnsafeMutableRawBufferPointer(start: buffer, count: wordCount * 8)) else {
                buffer.deallocate()
                throw InputError(file: bytes.path, reason: "truncated: the \(what) lies past the end of the file")
            }
            words = UnsafePointer(buffer)
            owned = buffer
        }
    }

    deinit { owned?.deallocate() }

    /// Builds the rank table; only the bitmap that locates descriptors needs it.
    func buildRanks() {
        var ranks: [UInt64] = []
        ranks.reserveCapacity(wordCount / Self.wordsPerGroup + 1)
        var total: UInt64 = 0
        for w in 0..<wordCount {
            if w % Self.wordsPerGroup == 0 { ranks.append(total) }
            total &+= UInt64(UInt64(littleEndian: words[w]).nonzeroBitCount)
        }
        ranks.append(total)
        groupRanks = ranks
    }

    @inline(__always)
    func isSet(_ pfn: UInt64) -> Bool {
        guard pfn < pfnCount else { return false }
        return UInt64(littleEndian: words[Int(pfn >> 6)]) & (1 << (pfn & 63)) != 0
    }

    /// Number of set bits below `pfn` (pfn <= pfnCount).
    func rank(_ pfn: UInt64) -> UInt64 {
        let pfn = min(pfn, pfnCount)
        let word = Int(pfn >> 6)
        let group = word / Self.wordsPerGroup
        guard group < groupRanks.count else { return groupRanks.last ?? 0 }
        var count = groupRanks[group]
        var w = group * Self.wordsPerGroup
        while w < word { count &+= UInt64(UInt64(littleEndian: words[w]).nonzeroBitCount); w += 1 }
        if pfn & 63 != 0, word < wordCount {
            count &+= UInt64((UInt64(littleEndian: words[word]) & ((1 << (pfn & 63)) - 1)).nonzeroBitCount)
        }
        return count
    }

    /// Runs of set bits below `limit`, as pfn ranges [start, end).
    func runs(below limit: UInt64) -> [(start: UInt64, end: UInt64)] {
        var out: [(UInt64, UInt64)] = []
        var runStart: UInt64?
        let words = Int(min(limit, pfnCount) >> 6) + (min(limit, pfnCount) & 63 != 0 ? 1 : 0)
        for w in 0..<words {
            let value = UInt64(littleEndian: self.words[w])
            let base = UInt64(w) << 6
            if value == ~0 && runStart != nil { continue }
            if value == 0 && runStart == nil { continue }
            for bit in 0..<64 {
                let pfn = base + UInt64(bit)
                guard pfn < limit else { break }
                let set = value & (1 << UInt64(bit)) != 0
                if set, runStart == nil { runStart = pfn }
                if !set, let s = runStart { out.append((s, pfn)); runStart = nil }
            }
        }
        if let s = runStart { out.append((s, min(limit, UInt64(words) << 6))) }
        return out
    }
}
