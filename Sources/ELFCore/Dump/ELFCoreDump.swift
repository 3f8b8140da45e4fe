/// An ELF core file of a whole machine, as /proc/vmcore, makedumpfile -E and QEMU's
/// dump-guest-memory write it: PT_LOAD segments of physical memory plus notes. Read through
/// `DumpBytes`: a plain file is mapped and handed out without copying; the same ELF inside a
/// container (a flattened stream from `makedumpfile -E -F`, a seekable .xz) is copied out.
public final class ELFCoreDump: PhysicalMemory, @unchecked Sendable {
    public let bytes: DumpBytes
    public var path: String { bytes.path }
    public let formatName: String
    public let architecture: Architecture
    public let vmcoreinfo: String?
    public let ranges: [PhysicalRange]
    private let segments: [Segment]

    struct Segment {
        let paddr: UInt64
        let memsz: UInt64
        let fileOffset: UInt64
        let filesz: UInt64
    }

    private static let maxProgramHeaders = 1 << 20

    public init(bytes: DumpBytes, containers: [String]) throws {
        self.bytes = bytes
        let path = bytes.path
        let ident = try bytes.bytes(at: 0, count: 64, what: "ELF header")
        guard ident[0] == 0x7f, ident[1] == 0x45, ident[2] == 0x4c, ident[3] == 0x46 else {
            throw InputError(file: path, reason: "not an ELF file (no ELF magic)")
        }
        guard ident[4] == 2 else { throw InputError(file: path, reason: "not a 64-bit ELF core (only ELFCLASS64 dumps are supported)") }
        guard ident[5] == 1 else { throw InputError(file: path, reason: "big-endian ELF cores are not supported") }
        let type = ident.le(UInt16.self, 16), machine = ident.le(UInt16.self, 18)
        guard type == 4 else { throw InputError(file: path, reason: "not a core dump (ELF type \(type), expected ET_CORE 4)") }
        guard let architecture = Architecture(elfMachine: machine) else {
            throw InputError(file: path, reason: "unsupported architecture (ELF machine \(machine)); vmowner reads \(Architecture.supportedNames) dumps")
        }
        self.architecture = architecture
        let phoff = ident.le(UInt64.self, 32), shoff = ident.le(UInt64.self, 40)
        let phentsize = UInt64(ident.le(UInt16.self, 54))
        var phnum = Int(ident.le(UInt16.self, 56))
        guard phentsize >= 56 else { throw InputError(file: path, reason: "bad program header size \(phentsize)") }
        if phnum == 0xffff {   // PN_XNUM: the real count is sh_info of section header 0
            phnum = Int(try bytes.bytes(at: shoff &+ 44, count: 4, what: "section header 0 (PN_XNUM count)").le(UInt32.self, 0))
        }
        guard phnum <= Self.maxProgramHeaders else { throw InputError(file: path, reason: "implausible program header count \(phnum)") }
        var segments: [Segment] = []
        var info: String?
        for index in 0..<phnum {
            let (o1, ov1) = UInt64(index).multipliedReportingOverflow(by: phentsize)
            let (at, ov2) = phoff.addingReportingOverflow(o1)
            guard !ov1, !ov2 else { throw InputError(file: path, reason: "program header table offset overflows") }
            let h = try bytes.bytes(at: at, count: 56, what: "program header \(index)")
            let offset = h.le(UInt64.self, 8), paddr = h.le(UInt64.self, 24)
            let filesz = h.le(UInt64.self, 32), memsz = h.le(UInt64.self, 40)
            switch h.le(UInt32.self, 0) {
            case 1: // PT_LOAD
                guard paddr != UInt64.max, memsz > 0 else { continue }
                guard bytes.contains(offset: offset, count: min(filesz, memsz)) else {
                    throw InputError(file: path, reason: "truncated: PT_LOAD \(index) for physical 0x\(String(paddr, radix: 16)) needs bytes up to offset \(offset &+ filesz) but the file has \(bytes.size)")
                }
                guard !paddr.addingReportingOverflow(memsz).overflow else {
                    throw InputError(file: path, reason: "PT_LOAD \(index) wraps around the address space")
                }
                segments.append(Segment(paddr: paddr, memsz: memsz, fileOffset: offset, filesz: min(filesz, memsz)))
            case 4: // PT_NOTE
                if info == nil, filesz <= 1 << 24, bytes.contains(offset: offset, count: filesz) {
                    let notes = try bytes.bytes(at: offset, count: Int(filesz), what: "PT_NOTE segment")
                    info = ELFNotes.find(name: "VMCOREINFO", in: notes).map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                }
            default:
                continue
            }
        }
        guard !segments.isEmpty else { throw InputError(file: path, reason: "no PT_LOAD segments: this core holds no memory") }
        segments.sort { $0.paddr < $1.paddr }
        self.segments = segments
        ranges = segments.map { PhysicalRange(start: $0.paddr, end: $0.paddr + $0.memsz) }
        vmcoreinfo = info
        formatName = containers.isEmpty ? "ELF" : "ELF (\(containers.joined(separator: ", ")))"
    }

    private func segmentIndex(_ address: UInt64) -> Int? {
        var low = 0, high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if segments[mid].paddr <= address { low = mid + 1 } else { high = mid }
        }
        let i = low - 1
        guard i >= 0, address &- segments[i].paddr < segments[i].memsz else { return nil }
        return i
    }

    public func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? {
        guard let i = segmentIndex(address) else { return nil }
        let s = segments[i]
        let within = address - s.paddr
        guard within < s.filesz else { return nil }
        // The rest of the segment when it is plain in one piece (a mapped file), else as far as
        // the page ends: a container may store the next page elsewhere.
        let rest = s.filesz - within
        if let p = bytes.stablePointer(at: s.fileOffset &+ within, count: Int(clamping: rest)) { return (p, rest) }
        let count = min(rest, 4096 - (address & 4095))
        guard let p = bytes.stablePointer(at: s.fileOffset &+ within, count: Int(count)) else { return nil }
        return (p, count)
    }

    public func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? {
        guard let i = segmentIndex(address), count >= 0 else { return nil }
        let s = segments[i]
        let within = address - s.paddr
        guard within &+ UInt64(count) <= s.filesz else { return nil }
        return bytes.stablePointer(at: s.fileOffset &+ within, count: count)
    }

    public func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let at = address &+ UInt64(done)
            guard let i = segmentIndex(at) else { throw MemoryFault.notInDump(physical: at) }
            let s = segments[i]
            let within = at - s.paddr
            guard within < s.filesz else { throw MemoryFault.excluded(physical: at) }
            let n = Int(min(UInt64(buffer.count - done), s.filesz - within))
            let target = UnsafeMutableRawBufferPointer(start: base + done, count: n)
            do {
                guard try bytes.copy(at: s.fileOffset &+ within, into: target) else { throw MemoryFault.notInDump(physical: at) }
            } catch let error as InputError {
                throw MemoryFault.corrupt(physical: at, reason: error.reason)
            }
            done += n
        }
    }
}
