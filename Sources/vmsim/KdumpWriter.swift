import Foundation

/// Writes the dump in makedumpfile's kdump-compressed format (header_version 6, x86_64 layout):
/// disk_dump_header, kdump_sub_header with the ELF notes after it, the 1st bitmap (RAM pfns) and
/// 2nd bitmap (dumped pfns), one page_desc per dumped pfn, then the page data. Pages are
/// compressed on two threads; a page stays raw when compression does not shrink it, and every
/// all-zero page points at one shared zero page written first.
/// The file is what `makedumpfile -c -d 1` (or -l, ...) writes from the ELF dump: dump level 1
/// is the one at which makedumpfile shares the zero page (at level 0 it compresses each zero
/// page on its own); zero pages stay in the 2nd bitmap. With `exclude` it is what
/// `makedumpfile -d 31` writes: free pages (buddy) and LRU pages (anonymous memory and page
/// cache) are left out of the 2nd bitmap and have no descriptor; zero kernel pages are kept,
/// sharing the zero page, as makedumpfile keeps them in this format.
struct KdumpWriter {
    let sim: Simulator
    let compression: PageCompression
    let exclude: Bool

    /// block_size: the page size.
    static var blockSize: Int { Int(MachineLayout.pageSize) }
    static let descriptorSize = 24
    /// 32 MiB of pages per chunk (8192 with 4K pages).
    static var chunkPages: Int { (32 << 20) / blockSize }

    func write(to sink: DumpSink) throws {
        let pages = DumpPages(sim: sim)
        let notes = DumpNotes(sim: sim)
        let maxPfn = pages.maxPfn
        let bs = UInt64(KdumpWriter.blockSize)

        // Bitmaps: one bit per pfn below max_mapnr, each padded to whole blocks.
        let bitmapBytes = Int((maxPfn + bs * 8 - 1) / (bs * 8) * bs)
        var ram = [UInt8](repeating: 0, count: bitmapBytes)
        for r in pages.ramPfns { for pfn in r.start..<r.end { ram[Int(pfn >> 3)] |= 1 << UInt8(pfn & 7) } }
        var dumped = ram
        if exclude {
            for r in pages.ramPfns {
                for pfn in r.start..<r.end where pages.isUserOrFree(pfn) { dumped[Int(pfn >> 3)] &= ~(1 << UInt8(pfn & 7)) }
            }
        }
        let dumpedCount = dumped.reduce(0) { $0 + $1.nonzeroBitCount }

        // Layout.
        let subHeaderSize = 104
        let subHeaderBlocks = (subHeaderSize + notes.bytes.count + KdumpWriter.blockSize - 1) / KdumpWriter.blockSize
        let bitmapBlocks = 2 * bitmapBytes / KdumpWriter.blockSize
        let bitmapOffset = UInt64(1 + subHeaderBlocks) * bs
        let descOffset = UInt64(1 + subHeaderBlocks + bitmapBlocks) * bs
        var dataOffset = descOffset + UInt64(dumpedCount * KdumpWriter.descriptorSize)

        try sink.write(mainHeader(subHeaderBlocks: subHeaderBlocks, bitmapBlocks: bitmapBlocks, maxPfn: maxPfn), at: 0)
        let noteOffset = bs + UInt64(subHeaderSize)
        var sub = [UInt8](repeating: 0, count: subHeaderSize)
        put(&sub, 0, sim.layout.physBase, 8)
        put(&sub, 8, exclude ? 31 : 1, 4)                         // dump_level
        // split, start_pfn, end_pfn and their _64 forms stay 0: makedumpfile sets them for
        // --split dumps only.
        put(&sub, 32, noteOffset + UInt64(notes.vmcoreinfoOffset), 8)
        put(&sub, 40, UInt64(notes.vmcoreinfoSize), 8)
        put(&sub, 48, noteOffset, 8)
        put(&sub, 56, UInt64(notes.bytes.count), 8)
        put(&sub, 96, maxPfn, 8)                                  // max_mapnr_64
        try sink.write(sub + notes.bytes, at: bs)
        try sink.write(ram, at: bitmapOffset)
        try sink.write(dumped, at: bitmapOffset + UInt64(bitmapBytes))

        // The shared zero page comes first.
        let zeroDescriptor = descriptor(offset: dataOffset, size: UInt32(bs), flags: 0)
        try sink.write([UInt8](repeating: 0, count: Int(bs)), at: dataOffset)
        dataOffset += bs

        let compressors = try (0..<2).map { _ in try PageCompressor(compression) }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: KdumpWriter.chunkPages * Int(bs), alignment: 16)
        defer { output.deallocate() }
        var descIndex = 0
        try pages.forEachChunk(chunkPages: KdumpWriter.chunkPages) { chunk in
            // Which pages of the chunk are dumped, and which of those hold data.
            var listed: [Int] = []
            var withData: [Int] = []
            for i in 0..<chunk.count {
                let pfn = chunk.firstPfn + UInt64(i)
                guard dumped[Int(pfn >> 3)] & (1 << UInt8(pfn & 7)) != 0 else { continue }
                listed.append(i)
                if !chunk.isZero(i) { withData.append(i) }
            }
            let packed = compress(withData, of: chunk, into: output, compressors)
            var descs: [UInt8] = []
            descs.reserveCapacity(listed.count * KdumpWriter.descriptorSize)
            var next = 0
            for i in listed {
                if next < withData.count && withData[next] == i {
                    let p = packed.pages[next]
                    descs += descriptor(offset: dataOffset + UInt64(p.offset), size: UInt32(p.size), flags: p.flags)
                    next += 1
                } else {
                    descs += zeroDescriptor
                }
            }
            try sink.write(descs, at: descOffset + UInt64(descIndex * KdumpWriter.descriptorSize))
            descIndex += listed.count
            for part in packed.parts where !part.isEmpty {
                try sink.write(UnsafeRawBufferPointer(rebasing: output[part]), at: dataOffset)
                dataOffset += UInt64(part.count)
            }
        }
        guard descIndex == dumpedCount else {
            throw DumpWriteError(description: "vmsim internal error: \(descIndex) page descriptors written, \(dumpedCount) expected")
        }
        try sink.finish()
    }

    struct Packed {
        /// Per page of `withData`: where its bytes start in the data written for the chunk.
        var pages: [(offset: Int, size: Int, flags: UInt32)]
        /// Byte ranges of `output` to write, in order.
        var parts: [Range<Int>]
    }

    /// Compresses the pages on two threads, each into its own half of `output`; the halves are
    /// then written one after the other, so the data stays in pfn order.
    private func compress(_ withData: [Int], of chunk: DumpPages.Chunk, into output: UnsafeMutableRawBufferPointer,
                          _ compressors: [PageCompressor]) -> Packed {
        let halves = [0..<(withData.count / 2), (withData.count / 2)..<withData.count]
        final class Results: @unchecked Sendable {
            var sizes: [[(size: Int, flags: UInt32)]] = [[], []]
        }
        let results = Results()
        let bs = KdumpWriter.blockSize
        let half = output.count / 2
        let flag = compression.flag
        DispatchQueue.concurrentPerform(iterations: 2) { w in
            var out = output.baseAddress! + w * half
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: PageCompressor.outputCapacity, alignment: 16)
            defer { scratch.deallocate() }
            var sizes: [(size: Int, flags: UInt32)] = []
            sizes.reserveCapacity(halves[w].count)
            for k in halves[w] {
                let page = chunk.page(withData[k])
                if let n = compressors[w].compress(page, into: scratch), n < bs {
                    out.copyMemory(from: scratch, byteCount: n)
                    out += n
                    sizes.append((n, flag))
                } else {
                    out.copyMemory(from: page.baseAddress!, byteCount: bs)
                    out += bs
                    sizes.append((bs, 0))
                }
            }
            results.sizes[w] = sizes
        }
        var packed = Packed(pages: [], parts: [])
        var offset = 0
        for w in 0..<2 {
            var used = 0
            for s in results.sizes[w] {
                packed.pages.append((offset, s.size, s.flags))
                offset += s.size
                used += s.size
            }
            packed.parts.append((w * half)..<(w * half + used))
        }
        return packed
    }

    private func descriptor(offset: UInt64, size: UInt32, flags: UInt32) -> [UInt8] {
        le(offset, 8) + le(UInt64(size), 4) + le(UInt64(flags), 4) + le(0, 8)
    }

    private func mainHeader(subHeaderBlocks: Int, bitmapBlocks: Int, maxPfn: UInt64) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 464)
        h.replaceSubrange(0..<8, with: Array("KDUMP   ".utf8))
        put(&h, 8, 6, 4)                                          // header_version
        // utsname as init_uts_ns holds it (see KernelGlobals).
        let uts = ["Linux", "vmsim", KernelDeclarations.release,
                   "#1 SMP PREEMPT_DYNAMIC Thu Jan  1 00:00:00 UTC 2026", Platform.current.utsMachine, "(none)"]
        for (i, s) in uts.enumerated() {
            let bytes = Array(s.utf8.prefix(64))
            h.replaceSubrange((12 + 65 * i)..<(12 + 65 * i + bytes.count), with: bytes)
        }
        put(&h, 408, sim.crashTime, 8)                            // timestamp.tv_sec
        put(&h, 424, UInt64(compression.flag), 4)                 // status
        put(&h, 428, UInt64(KdumpWriter.blockSize), 4)
        put(&h, 432, UInt64(subHeaderBlocks), 4)
        put(&h, 436, UInt64(bitmapBlocks), 4)
        put(&h, 440, min(maxPfn, UInt64(UInt32.max)), 4)          // max_mapnr (32-bit, obsolete)
        put(&h, 460, 2, 4)                                        // nr_cpus
        return h
    }

    private func put(_ b: inout [UInt8], _ at: Int, _ v: UInt64, _ n: Int) {
        b.replaceSubrange(at..<(at + n), with: le(v, n))
    }
}
