import ELFCore

/// makedumpfile --split sets: the input is one kdump-compressed file, made into three parts by
/// rewriting its sub header's split range (the cut pfns are the input's last 12 bytes, three
/// u32s); then the set's checks (tiling, same dump) and reads across the parts (SplitKdumpSet).
enum SplitTarget {
    static let target = FuzzTarget(
        name: "split", summary: "a kdump-compressed vmcore cut into makedumpfile --split parts: range checks, reads across parts (SplitKdumpSet)"
    ) { input in
        guard input.count >= 464 + 12 else { return }
        let blockSize = Int(UInt32(littleEndian: input.loadUnaligned(fromByteOffset: 428, as: UInt32.self)))
        guard blockSize >= 1024, blockSize <= 1 << 20, blockSize + 104 <= input.count else { return }
        let cuts = (0..<3).map { UInt64(UInt32(littleEndian: input.loadUnaligned(fromByteOffset: input.count - 12 + 4 * $0, as: UInt32.self))) }
        var parts: [KdumpCompressedDump] = []
        for (start, end) in [(0, cuts[0]), (cuts[0], cuts[1]), (cuts[1], cuts[2])] {
            let bytes = MemoryBytes(input)
            let sub = bytes.storage.baseAddress! + blockSize
            sub.storeBytes(of: Int32(1).littleEndian, toByteOffset: 12, as: Int32.self)
            for (at, value) in [(16, start), (24, end), (80, start), (88, end)] {
                (sub + at).storeBytes(of: value.littleEndian, as: UInt64.self)
            }
            guard let part = FuzzLog.attempt("part \(start)-\(end)", { try KdumpCompressedDump(bytes: bytes, containers: [], cachedPages: 4) }) else { return }
            parts.append(part)
        }
        guard let set = FuzzLog.attempt("SplitKdumpSet", { try SplitKdumpSet(parts: parts.reversed()) }) else { return }
        FuzzLog.note("split set: \(set.partRanges)")
        PhysicalExercise.run(set, pagesPerRange: 16)
    }
}
