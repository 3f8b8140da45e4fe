/// An ELF core file of a whole machine, as /proc/vmcore, makedumpfile -E and QEMU's
/// dump-guest-memory write it: PT_LOAD segments of physical memory plus notes.
public final class ELFCoreDump: PhysicalMemory, @unchecked Sendable {
    public let file: MappedFile
    public var path: String { file.path }
    public var formatName: String { "ELF" }
    public let machine: UInt16
    public let vmcoreinfo: String?
    public let ranges: [PhysicalRange]
    /// Segments sorted by physical address.
    private let segments: [Segment]

    struct Segment {
        let paddr: UInt64
        let memsz: UInt64
        let fileOffset: UInt64
        let filesz: UInt64
    }

    public static let machineX86_64: UInt16 = 62
    public static let machineAArch64: UInt16 = 183
    private static let maxProgramHeaders = 1 << 20

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let ident = try file.bytes(at: 0, count: 64, what: "ELF header")
        guard ident[0] == 0x7f, ident[1] == 0x45, ident[2] == 0x4c, ident[3] == 0x46 else {
            throw InputError(file: path, reason: "not an ELF file (no ELF magic)")
        }
        guard ident[4] == 2 else { throw InputError(file: path, reason: "not a 64-bit ELF core (only ELFCLASS64 dumps are supported)") }
        guard ident[5] == 1 else { throw InputError(file: path, reason: "big-endian ELF cores are not supported") }
        let type = try file.load(UInt16.self, at: 16, what: "e_type")
        guard type == 4 else { throw InputError(file: path, reason: "not a core dump (ELF type \(type), expected ET_CORE 4)") }
        machine = try file.load(UInt16.self, at: 18, what: "e_machine")
        guard machine == Self.machineX86_64 else {
            throw InputError(file: path, reason: "unsupported architecture (ELF machine \(machine)); vmowner reads x86_64 dumps")
        }
        let phoff = try file.load(UInt64.self, at: 32, what: "e_phoff")
        let shoff = try file.load(UInt64.self, at: 40, what: "e_shoff")
        let phentsize = UInt64(try file.load(UInt16.self, at: 54, what: "e_phentsize"))
        var phnum = Int(try file.load(UInt16.self, at: 56, what: "e_phnum"))
        guard phentsize >= 56 else { throw InputError(file: path, reason: "bad program header size \(phentsize)") }
        if phnum == 0xffff {
            // PN_XNUM: the real count sits in sh_info of section header 0.
            phnum = Int(try file.load(UInt32.self, at: shoff &+ 44, what: "section header 0 (PN_XNUM count)"))
        }
        guard phnum <= Self.maxProgramHeaders else {
            throw InputError(file: path, reason: "implausible program header count \(phnum)")
        }
        var segments: [Segment] = []
        var info: String?
        for index in 0..<phnum {
            let (o1, ov1) = UInt64(index).multipliedReportingOverflow(by: phentsize)
            let (at, ov2) = phoff.addingReportingOverflow(o1)
            guard !ov1, !ov2 else { throw InputError(file: path, reason: "program header table offset overflows") }
            let h = try file.bytes(at: at, count: 56, what: "program header \(index)")
            let pType = h.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
            let offset = h.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let paddr = h.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            let filesz = h.loadUnaligned(fromByteOffset: 32, as: UInt64.self)
            let memsz = h.loadUnaligned(fromByteOffset: 40, as: UInt64.self)
            switch pType {
            case 1: // PT_LOAD
                guard paddr != UInt64.max, memsz > 0 else { continue }   // virtual-only segment
                guard file.contains(offset: offset, count: min(filesz, memsz)) else {
                    throw InputError(file: path, reason: "truncated: PT_LOAD \(index) for physical 0x\(String(paddr, radix: 16)) needs bytes up to offset \(offset &+ filesz) but the file has \(file.size)")
                }
                guard !paddr.addingReportingOverflow(memsz).overflow else {
                    throw InputError(file: path, reason: "PT_LOAD \(index) wraps around the address space")
                }
                segments.append(Segment(paddr: paddr, memsz: memsz, fileOffset: offset, filesz: min(filesz, memsz)))
            case 4: // PT_NOTE
                if info == nil { info = try Self.findVMCoreInfo(file: file, offset: offset, size: filesz) }
            default:
                continue
            }
        }
        guard !segments.isEmpty else { throw InputError(file: path, reason: "no PT_LOAD segments: this core holds no memory") }
        segments.sort { $0.paddr < $1.paddr }
        self.segments = segments
        self.ranges = segments.map { PhysicalRange(start: $0.paddr, end: $0.paddr + $0.memsz) }
        self.vmcoreinfo = info
    }

    /// Walks the notes of one PT_NOTE segment and returns the VMCOREINFO text, if any.
    private static func findVMCoreInfo(file: MappedFile, offset: UInt64, size: UInt64) throws -> String? {
        let notes = try file.bytes(at: offset, count: Int(clamping: size), what: "PT_NOTE segment")
        var at = 0
        func padded(_ n: Int) -> Int { (n &+ 3) & ~3 }
        while at + 12 <= notes.count {
            let namesz = Int(notes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
            let descsz = Int(notes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
            let nameStart = at + 12
            let descStart = nameStart + padded(namesz)
            let next = descStart + padded(descsz)
            guard namesz <= notes.count, descsz <= notes.count, next <= notes.count, next > at else { break }
            let name = String(decoding: notes[nameStart..<(nameStart + namesz)].prefix { $0 != 0 }, as: UTF8.self)
            if name == "VMCOREINFO" {
                let desc = notes[descStart..<(descStart + descsz)].prefix { $0 != 0 }
                return String(decoding: desc, as: UTF8.self)
            }
            at = next
        }
        return nil
    }

    /// Index of the segment holding `address`, by binary search.
    @inline(__always)
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

    public func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer? {
        guard let i = segmentIndex(address) else { return nil }
        let s = segments[i]
        let within = address - s.paddr
        guard count >= 0, within &+ UInt64(count) <= s.filesz else { return nil }
        return file.pointer(at: s.fileOffset &+ within, count: UInt64(count))
    }

    public func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)? {
        guard let i = segmentIndex(address) else { return nil }
        let s = segments[i]
        let within = address - s.paddr
        guard within < s.filesz, let p = file.pointer(at: s.fileOffset &+ within, count: s.filesz - within) else { return nil }
        return (p, s.filesz - within)
    }

    public func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let at = address &+ UInt64(done)
            guard let i = segmentIndex(at) else { throw MemoryFault.notInDump(physical: at) }
            let s = segments[i]
            let within = at - s.paddr
            guard within < s.filesz else { throw MemoryFault.excluded(physical: at) }
            let n = Int(min(UInt64(buffer.count - done), s.filesz - within))
            guard let src = file.pointer(at: s.fileOffset &+ within, count: UInt64(n)) else {
                throw MemoryFault.notInDump(physical: at)
            }
            (buffer.baseAddress! + done).copyMemory(from: src, byteCount: n)
            done += n
        }
    }
}
