/// The two headers at the front of a kdump-compressed file: `disk_dump_header` (block 0) and,
/// for "KDUMP   " files, the `kdump_sub_header` at block 1, whose fields grew with each header
/// version makedumpfile wrote (1 through 6). x86_64 layout, little-endian.
struct KdumpHeader {
    let signature: String          // "KDUMP   " or "DISKDUMP"
    let version: Int32
    /// utsname.machine of the dumped kernel ("x86_64", "aarch64").
    let machine: String
    let status: UInt32
    let blockSize: UInt64
    let subHeaderBlocks: UInt64
    let bitmapBlocks: UInt64
    let maxMapnr: UInt64
    // kdump_sub_header; zero where the header version predates the field.
    let physBase: UInt64
    let dumpLevel: Int32
    let split: Bool
    let startPFN: UInt64
    let endPFN: UInt64
    let vmcoreinfo: (offset: UInt64, size: UInt64)
    let notes: (offset: UInt64, size: UInt64)

    // Status bits of the whole dump; page descriptors use the same compression values.
    static let zlib: UInt32 = 0x1
    static let lzo: UInt32 = 0x2
    static let incomplete: UInt32 = 0x8
    static let snappy: UInt32 = 0x4
    static let excludedVmemmap: UInt32 = 0x10
    static let zstd: UInt32 = 0x20

    static let diskDumpHeaderSize = 464
    /// 2^52: the largest physical address space of x86_64 (5-level paging) and arm64 (LPA, LPA2).
    static let maxPhysicalBytes: UInt64 = 1 << 52
    static let subHeaderSize = 104

    static func isKdump(_ head: [UInt8]) -> Bool {
        head.count >= 8 && (head[0..<8] == ArraySlice("KDUMP   ".utf8) || head[0..<8] == ArraySlice("DISKDUMP".utf8))
    }

    init(bytes: DumpBytes) throws {
        let path = bytes.path
        let h = try bytes.bytes(at: 0, count: Self.diskDumpHeaderSize, what: "disk_dump_header")
        guard Self.isKdump(h) else { throw InputError(file: path, reason: "not a kdump-compressed dump (no KDUMP signature)") }
        signature = String(decoding: h[0..<8], as: UTF8.self)
        version = h.le(Int32.self, 8)
        if version <= 0 || version > 0xffff {
            if Int32(bigEndian: version) > 0, Int32(bigEndian: version) < 64 {
                throw InputError(file: path, reason: "big-endian kdump-compressed dumps are not supported (vmowner reads little-endian \(Architecture.supportedNames) dumps)")
            }
            throw InputError(file: path, reason: "corrupt disk_dump_header: header_version \(version)")
        }
        // new_utsname follows header_version: six 65-byte fields, machine the fifth.
        let machineField = h[(12 + 4 * 65)..<(12 + 5 * 65)]
        machine = String(decoding: machineField.prefix(while: { $0 != 0 }), as: UTF8.self)
        status = h.le(UInt32.self, 424)
        let blockSize = UInt64(h.le(UInt32.self, 428))
        guard blockSize >= 1024, blockSize <= 1 << 20, blockSize & (blockSize - 1) == 0 else {
            throw InputError(file: path, reason: "corrupt disk_dump_header: block_size \(blockSize) is not a page size")
        }
        self.blockSize = blockSize
        subHeaderBlocks = UInt64(h.le(UInt32.self, 432))
        bitmapBlocks = UInt64(h.le(UInt32.self, 436))
        let maxMapnr32 = UInt64(h.le(UInt32.self, 440))
        guard bitmapBlocks > 0, bitmapBlocks % 2 == 0 else {
            throw InputError(file: path, reason: "corrupt disk_dump_header: bitmap_blocks \(bitmapBlocks) (must be even: two bitmaps)")
        }

        var sub = [UInt8](repeating: 0, count: Self.subHeaderSize)
        if signature == "KDUMP   ", subHeaderBlocks > 0 {
            let available = min(UInt64(Self.subHeaderSize), subHeaderBlocks * blockSize)
            let read = try bytes.bytes(at: blockSize, count: Int(available), what: "kdump_sub_header")
            sub.replaceSubrange(0..<read.count, with: read)
        }
        let v = version
        physBase = sub.le(UInt64.self, 0)
        dumpLevel = v >= 1 ? sub.le(Int32.self, 8) : 0
        split = v >= 2 && sub.le(Int32.self, 12) != 0
        vmcoreinfo = v >= 3 ? (sub.le(UInt64.self, 32), sub.le(UInt64.self, 40)) : (0, 0)
        notes = v >= 4 ? (sub.le(UInt64.self, 48), sub.le(UInt64.self, 56)) : (0, 0)
        maxMapnr = v >= 6 && sub.le(UInt64.self, 96) != 0 ? sub.le(UInt64.self, 96) : maxMapnr32
        guard maxMapnr <= Self.maxPhysicalBytes / blockSize else {
            throw InputError(file: path, reason: "corrupt kdump header: max_mapnr \(maxMapnr) pages of \(blockSize) bytes is more memory than a 52-bit physical address space holds (4 PiB)")
        }
        if split {
            startPFN = v >= 6 ? sub.le(UInt64.self, 80) : sub.le(UInt64.self, 16)
            endPFN = v >= 6 ? sub.le(UInt64.self, 88) : sub.le(UInt64.self, 24)
        } else {
            startPFN = 0
            endPFN = maxMapnr
        }
    }

    /// File offsets of the bitmaps and the page descriptor table.
    var bitmapOffset: UInt64 { (1 &+ subHeaderBlocks) &* blockSize }
    var bitmapHalfBytes: UInt64 { bitmapBlocks / 2 &* blockSize }
    var descriptorsOffset: UInt64 { (1 &+ subHeaderBlocks &+ bitmapBlocks) &* blockSize }

    /// "zlib", "lzo", ... from the status word, or nil when it names none.
    var compressionName: String? { Self.compressionName(flags: status) }

    static func compressionName(flags: UInt32) -> String? {
        if flags & zlib != 0 { return "zlib" }
        if flags & lzo != 0 { return "lzo" }
        if flags & snappy != 0 { return "snappy" }
        if flags & zstd != 0 { return "zstd" }
        return nil
    }
}
