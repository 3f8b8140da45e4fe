import Foundation

/// The ELF vmcore of a filtered (`--exclude`) dump, laid out as `makedumpfile -E -d 31` does:
/// one PT_LOAD per run of kept pages; excluded runs shorter than 256 pages stay inside the
/// segment as zeros, longer ones end it, the segment's p_memsz reaching over the excluded
/// pages that follow (p_filesz < p_memsz); a RAM range with nothing kept gets one segment with
/// p_filesz 0. The data follows the notes without padding, as in makedumpfile's output.
/// Excluded pages before a RAM range's first kept page are in no segment at all.
struct FilteredELFWriter {
    let sim: Simulator

    /// makedumpfile's PFN_EXCLUDED: shorter excluded runs are written as zero pages.
    static let splitPages: UInt64 = 256

    struct Segment {
        let start: UInt64     // first pfn
        let fileEnd: UInt64   // one past the last kept pfn
        let memEnd: UInt64    // one past the last pfn the segment covers
        var fileOffset: UInt64 = 0
    }

    func write(to path: String) throws {
        let pages = DumpPages(sim: sim)
        let notes = DumpNotes(sim: sim)
        let shift = MachineLayout.pageShift
        let kept = try pages.filteredBitmap(bytes: Int((pages.maxPfn + 7) / 8))
        func isKept(_ pfn: UInt64) -> Bool { kept[Int(pfn >> 3)] & (1 << UInt8(pfn & 7)) != 0 }

        var segments: [Segment] = []
        for r in pages.ramPfns {
            var open: (start: UInt64, last: UInt64)? = nil
            for pfn in r.start..<r.end where isKept(pfn) {
                if let o = open, pfn - o.last - 1 >= FilteredELFWriter.splitPages {
                    segments.append(Segment(start: o.start, fileEnd: o.last + 1, memEnd: pfn))
                    open = nil
                }
                open = (open?.start ?? pfn, pfn)
            }
            if let o = open { segments.append(Segment(start: o.start, fileEnd: o.last + 1, memEnd: r.end)) }
            else { segments.append(Segment(start: r.start, fileEnd: r.start, memEnd: r.end)) }
        }
        guard segments.count + 1 < 0xffff else {
            throw DumpWriteError(description: "\(path): \(segments.count) PT_LOAD segments do not fit e_phnum")
        }

        let phnum = 1 + segments.count
        let notesOffset = 64 + 56 * phnum
        var offset = UInt64(notesOffset + notes.bytes.count)
        for i in segments.indices {
            segments[i].fileOffset = offset
            offset += (segments[i].fileEnd - segments[i].start) << shift
        }
        var header: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        header += le(4, 2) + le(Platform.current.elfMachine, 2) + le(1, 4) + le(0, 8) + le(64, 8) + le(0, 8)
        header += le(0, 4) + le(64, 2) + le(56, 2) + le(UInt64(phnum), 2) + le(64, 2) + le(0, 2) + le(0, 2)
        header += le(4, 4) + le(0, 4) + le(UInt64(notesOffset), 8) + le(0, 8) + le(0, 8)
            + le(UInt64(notes.bytes.count), 8) + le(UInt64(notes.bytes.count), 8) + le(0, 8)
        for s in segments {
            let pa = s.start << shift
            header += le(1, 4) + le(7, 4) + le(s.fileOffset, 8) + le(sim.layout.pageOffsetBase &+ pa, 8) + le(pa, 8)
                + le((s.fileEnd - s.start) << shift, 8) + le((s.memEnd - s.start) << shift, 8) + le(0, 8)
        }
        header += notes.bytes

        let file = try FileSink(path: path)
        try file.setSize(offset)
        try file.write(header, at: 0)
        // Kept pages only; everything else in the file is a hole that reads as zeros.
        var seg = 0
        try pages.forEachChunk { chunk in
            for i in 0..<chunk.count where chunk.written[i] {
                let pfn = chunk.firstPfn + UInt64(i)
                guard isKept(pfn) else { continue }
                while seg < segments.count && segments[seg].fileEnd <= pfn { seg += 1 }
                guard seg < segments.count, segments[seg].start <= pfn else {
                    throw DumpWriteError(description: "vmsim internal error: kept pfn \(pfn) in no segment")
                }
                try file.write(chunk.page(i), at: segments[seg].fileOffset + ((pfn - segments[seg].start) << shift))
            }
        }
    }
}
