import ELFCore

/// The hardware floor of a page walk, for the benchmark: read every page_ext byte of every
/// pfn once (summing them, so the reads cannot be skipped) and nothing else. Compressed dumps
/// are read 64 KiB at a time, so their floor includes decompressing those pages.
public enum PageExtFloor {
    public static func read(context c: PageOwnerContext) -> (bytes: UInt64, checksum: UInt64) {
        var total: (UInt64, UInt64) = (0, 0)
        ParallelWalk.run(context: c, work: { range -> (UInt64, UInt64) in
            var bytes: UInt64 = 0
            var sum: UInt64 = 0
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
            defer { chunk.deallocate() }
            var pfn = range.start
            while pfn < range.end {
                let sectionEnd = min(range.end, (pfn | (c.sections.pagesPerSection - 1)) &+ 1)
                defer { pfn = sectionEnd }
                guard let base = c.sections.section(of: pfn)?.pageExt else { continue }
                var va = base &+ pfn &* c.extSize
                let end = base &+ sectionEnd &* c.extSize
                while va < end {
                    var pointer: UnsafeRawPointer
                    var available: UInt64
                    if let span = c.dump.memory.directSpan(va) {
                        (pointer, available) = (span.pointer, span.count)
                    } else {
                        let length = min(UInt64(chunk.count), end &- va)
                        guard (try? c.dump.memory.read(va, into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<Int(length)]))) != nil else {
                            va = (va | 4095) &+ 1
                            continue
                        }
                        (pointer, available) = (UnsafeRawPointer(chunk.baseAddress!), length)
                    }
                    let n = Int(min(available, end &- va)) / 8
                    for i in 0..<n { sum &+= pointer.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
                    bytes &+= UInt64(n * 8)
                    va &+= UInt64(max(n, 1) * 8)
                }
            }
            return (bytes, sum)
        }, consume: { part in total = (total.0 &+ part.0, total.1 &+ part.1) })
        return total
    }
}
