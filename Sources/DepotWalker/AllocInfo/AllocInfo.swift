import ELFCore

/// One allocation tag (`struct alloc_tag`): a call site and what it had allocated at the dump.
public struct AllocTag: Sendable, Equatable {
    /// Bytes currently allocated, summed over the possible CPUs (signed, as the kernel prints).
    public let bytes: Int64
    /// Allocations currently live from this site.
    public let calls: UInt64
    public let filename: String
    public let line: UInt32
    /// nil for the kernel image, the module name otherwise.
    public let module: String?
    public let function: String
    /// `codetag.flags`; 6.18+ prints ` accurate:no` when CODETAG_FLAG_INACCURATE (1) is set.
    public let flags: UInt32
}

/// What /proc/allocinfo listed, rebuilt from the dump: every tag in the kernel's order
/// (the image first, then modules in the order of the code-tag module idr).
public struct AllocInfo: Sendable {
    public enum FormatVersion: String, Sendable {
        case v1 = "1.0"      // 6.10–6.17
        case v2 = "2.0"      // 6.18+: ` accurate:no` on inaccurate tags
    }

    public let tags: [AllocTag]
    /// `mem_alloc_profiling_key` was on: counters were live. When off they froze at that time.
    public let profilingEnabled: Bool
    public let version: FormatVersion
    /// Tags whose per-cpu counters could not be read (listed with zero counters).
    public let unreadableCounters: Int
    /// Tags left out because their file, function or module name is in memory the dump does
    /// not hold (a filtered dump may leave such pages out).
    public let unreadableTags: Int
    /// Why only the kernel image's tags are listed (the module list could not be read); nil
    /// when every module's are.
    public let moduleListFault: String?
    /// How many code-tag modules (the kernel image is one) the idr held.
    public let moduleCount: Int

    static let maxTags = 1 << 22
    static let maxRangeBytes: UInt64 = 1 << 28

    public static func read(dump: KernelDump) throws -> AllocInfo {
        let memory = dump.memory
        guard let cttypeAt = dump.address(of: "alloc_tag_cttype") else {
            throw InputError(file: dump.kernelFile, reason: "Linux \(dump.release) was built without memory allocation profiling (CONFIG_MEM_ALLOC_PROFILING, Linux 6.10+): it had no /proc/allocinfo")
        }
        let cttype = try memory.u64(cttypeAt)
        // NULL before alloc_tag_init ran, an ERR_PTR when registering the tag type failed.
        guard cttype != 0, cttype < UInt64.max - 4095 else {
            throw InputError(file: dump.vmcorePath, reason: "memory allocation profiling was never set up on this kernel (alloc_tag_cttype is \(cttype == 0 ? "NULL" : "an error")): it had no /proc/allocinfo")
        }
        let layout = try AllocTagLayout(types: dump.types, vmlinuxPath: dump.kernelFile)
        let cpus = try PossibleCPUs(dump: dump)
        // Each code-tag module's range of tags: the kernel image's and every module's, from the
        // code-tag type's idr. When that list is in memory the dump does not hold (a filtered
        // dump can leave out the slab page it sits in: makedumpfile -d 31 of the real 6.12 dump
        // does), the image's own section still lists the kernel's tags.
        var ranges: [(start: UInt64, stop: UInt64)]
        var moduleListFault: String?
        do {
            ranges = try moduleRanges(dump: dump, cttype: cttype, layout: layout)
        } catch let fault as MemoryFault {
            guard let start = dump.address(of: "__start_alloc_tags"), let stop = dump.address(of: "__stop_alloc_tags") else { throw fault }
            ranges = [(start, stop)]
            moduleListFault = "\(fault)"
        }
        let tagStride = UInt64(layout.tagSize)
        var reader = TagReader(memory: memory, layout: layout, cpus: cpus)
        var tags: [AllocTag] = []
        for (index, range) in ranges.enumerated() {
            let (start, stop) = range
            guard start <= stop, stop &- start <= Self.maxRangeBytes else {
                throw InputError(file: dump.vmcorePath, reason: "code-tag module \(index) has an implausible range 0x\(String(start, radix: 16))–0x\(String(stop, radix: 16))")
            }
            // codetag_next_ct steps by tag_size while the tag starts below `stop`.
            let count = Int((stop &- start &+ tagStride &- 1) / tagStride)
            guard tags.count + count <= Self.maxTags else {
                throw InputError(file: dump.vmcorePath, reason: "more than \(Self.maxTags) allocation tags: the code-tag list is corrupt")
            }
            let raw = try memory.bytes(start, count: count * layout.tagSize)
            try raw.withUnsafeBytes { buffer in
                for i in 0..<count {
                    if let tag = try reader.tag(buffer.baseAddress! + i * layout.tagSize) { tags.append(tag) }
                }
            }
        }
        return AllocInfo(tags: tags, profilingEnabled: try profilingEnabled(dump), version: formatVersion(release: dump.release),
                         unreadableCounters: reader.unreadableCounters, unreadableTags: reader.unreadableTags,
                         moduleListFault: moduleListFault, moduleCount: ranges.count)
    }

    /// The tag ranges of the code-tag modules (the image first), from alloc_tag_cttype's idr.
    static func moduleRanges(dump: KernelDump, cttype: UInt64, layout: AllocTagLayout) throws -> [(start: UInt64, stop: UInt64)] {
        let memory = dump.memory
        let tagStride = try layout.tagSizeField.read(memory, at: cttype)
        guard tagStride == UInt64(layout.tagSize) else {
            throw InputError(file: dump.vmcorePath, reason: "alloc_tag_cttype says tags are \(tagStride) bytes but struct alloc_tag is \(layout.tagSize)")
        }
        let idrAt = cttype &+ UInt64(layout.modIDR)
        let head = try memory.u64(idrAt &+ UInt64(layout.idrHead))
        return try XArrayWalk(dump: dump).entries(head: head).map { module in
            (try memory.u64(module.value &+ UInt64(layout.rangeStart)), try memory.u64(module.value &+ UInt64(layout.rangeStop)))
        }
    }

    /// `mem_alloc_profiling_key`, a static key: on when its `enabled` counter is positive.
    static func profilingEnabled(_ dump: KernelDump) throws -> Bool {
        guard let at = dump.address(of: "mem_alloc_profiling_key") else { return false }
        let offset = (try? dump.types.structType("static_key").member("enabled").offset) ?? 0
        return Int32(bitPattern: try dump.memory.u32(at &+ UInt64(offset))) > 0
    }

    /// The header says 2.0 from Linux 6.18 on (the text is not in the DWARF; the release tells).
    static func formatVersion(release: String) -> FormatVersion {
        guard let version = KernelDump.version(ofRelease: release) else { return .v1 }
        return (version.major, version.minor) >= (6, 18) ? .v2 : .v1
    }
}

/// Turns raw `struct alloc_tag` bytes into AllocTag, summing the per-cpu counters and caching
/// the strings (one file name serves many tags).
struct TagReader {
    let memory: KernelMemory
    let layout: AllocTagLayout
    let cpus: PossibleCPUs
    var strings: [UInt64: String] = [:]
    var unreadableCounters = 0
    var unreadableTags = 0

    init(memory: KernelMemory, layout: AllocTagLayout, cpus: PossibleCPUs) {
        self.memory = memory
        self.layout = layout
        self.cpus = cpus
    }

    /// The tag, or nil (counted in `unreadableTags`) when one of its names is in memory the
    /// dump does not hold.
    mutating func tag(_ p: UnsafeRawPointer) throws -> AllocTag? {
        let modname = p.loadUnaligned(fromByteOffset: layout.modname, as: UInt64.self)
        let counters = p.loadUnaligned(fromByteOffset: layout.counters, as: UInt64.self)
        do {
            let filename = try string(p.loadUnaligned(fromByteOffset: layout.filename, as: UInt64.self))
            let module = modname == 0 ? nil : try string(modname)
            let function = try string(p.loadUnaligned(fromByteOffset: layout.function, as: UInt64.self))
            let (bytes, calls) = sum(counters)
            return AllocTag(bytes: bytes, calls: calls, filename: filename, line: UInt32(truncatingIfNeeded: layout.lineno.unsigned(p)),
                            module: module, function: function, flags: UInt32(truncatingIfNeeded: layout.flags.unsigned(p)))
        } catch is MemoryFault {
            unreadableTags += 1
            return nil
        }
    }

    /// alloc_tag_read: the sum over possible CPUs; wrapping, as the kernel's u64 additions do.
    private mutating func sum(_ counters: UInt64) -> (Int64, UInt64) {
        guard counters != 0 else { return (0, 0) }     // 6.13+: a module tag before its load
        var bytes: UInt64 = 0, calls: UInt64 = 0
        for offset in cpus.offsets {
            let at = counters &+ offset
            guard let b = try? memory.u64(at &+ UInt64(layout.counterBytes)),
                  let c = try? memory.u64(at &+ UInt64(layout.counterCalls)) else {
                unreadableCounters += 1
                return (0, 0)
            }
            bytes &+= b
            calls &+= c
        }
        return (Int64(bitPattern: bytes), calls)
    }

    private mutating func string(_ address: UInt64) throws -> String {
        if address == 0 { return "(null)" }
        if let known = strings[address] { return known }
        let text = try memory.cString(address, max: 512)
        strings[address] = text
        return text
    }
}
