import ELFCore

/// The dump-format layer, each reader on its own: the input is a whole (small) dump file.
enum DumpFormatTargets {
    /// ELF core: header, program headers, PN_XNUM, PT_NOTE and VMCOREINFO, then reads.
    static let elfCore = FuzzTarget(
        name: "elf-core", summary: "an ELF vmcore: headers, notes, PT_LOAD reads (ELFCoreDump)"
    ) { input in
        guard let dump = FuzzLog.attempt("ELFCoreDump", { try ELFCoreDump(bytes: MemoryBytes(input), containers: []) }) else { return }
        PhysicalExercise.run(dump)
    }

    /// kdump-compressed: disk_dump_header, sub header, bitmaps, descriptors, page reads of
    /// every compression method; a small page cache so that eviction runs too.
    static let kdump = FuzzTarget(
        name: "kdump", summary: "a kdump-compressed vmcore: headers, bitmaps, descriptors, page reads (KdumpCompressedDump)"
    ) { input in
        guard let dump = FuzzLog.attempt("KdumpCompressedDump", { try KdumpCompressedDump(bytes: MemoryBytes(input), containers: [], cachedPages: 4) }) else { return }
        PhysicalExercise.run(dump, pagesPerRange: 16)
    }

    /// makedumpfile -F: the record index, overlapping records, then the dump inside it.
    static let flattened = FuzzTarget(
        name: "flattened", summary: "a flattened (makedumpfile -F) vmcore: record index, reassembled reads (FlattenedBytes)"
    ) { input in
        guard let flat = FuzzLog.attempt("FlattenedBytes", { try FlattenedBytes(base: MemoryBytes(input)) }) else { return }
        FuzzLog.note("flattened: \(flat.size) bytes, truncated: \(flat.truncated)")
        var buffer = [UInt8](repeating: 0, count: 8192)
        buffer.withUnsafeMutableBytes { b in
            var at: UInt64 = 0
            while at < min(flat.size, 1 << 20) {
                _ = try? flat.copy(at: at, into: b)
                if let p = flat.stablePointer(at: at, count: 64) { PhysicalExercise.touch((p, 64)) }
                at += 4000
            }
        }
        guard let dump = FuzzLog.attempt("inner dump", { try DumpFormat.open(bytes: flat, containers: ["flattened"]) }) else { return }
        PhysicalExercise.run(dump)
    }

    /// .xz read in place: stream header and footer, the block index, block decoding, then the
    /// dump inside it. (A one-block file is decompressed whole by the CLI: not fuzzed here, it
    /// writes a temporary file as large as the input says.)
    static let xz = FuzzTarget(
        name: "xz", summary: "an .xz vmcore: block index and in-place block reads (XZFile, XZBytes)"
    ) { input in
        guard let file = try? MemoryFile.map(input),
              let opened = FuzzLog.attempt("XZDump", { try XZDump.openSeekable(file: file) }), let dump = opened else { return }
        PhysicalExercise.run(dump, maxRanges: 4, pagesPerRange: 4)
    }

    /// The VMCOREINFO note's text and every accessor the reader uses on it.
    static let vmcoreinfo = FuzzTarget(
        name: "vmcoreinfo", summary: "VMCOREINFO text: KEY=value parsing and the typed accessors (VMCoreInfo)"
    ) { input in
        guard let info = try? VMCoreInfo(text: String(decoding: input, as: UTF8.self), file: "fuzz") else { return }
        _ = (info.osRelease, info.pageSize, info.kernelOffset, info.physBase, info.fiveLevelPaging, info.sectionSizeBits,
             info.maxPhysmemBits, info.pageStructSize, info.buddyOrders, info.memSectionRoots, info.nodeDataLength,
             info.pageBuddyMapcountValue, info.warnings)
        for name in ["init_top_pgt", "swapper_pg_dir", "mem_section", "vmemmap", "kallsyms_names"] { _ = info.symbol(name) }
    }
}
