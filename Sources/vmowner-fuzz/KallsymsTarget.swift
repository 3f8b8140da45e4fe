import ELFCore
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's kallsyms tables (Kallsyms.swift) decoded from fuzzed memory. Input: a header
/// of six little-endian u32 offsets (kallsyms_num_syms, _names, _token_table, _token_index,
/// _offsets or _addresses, _relative_base) and a flags byte (bit 0: an absolute address
/// table instead of offsets + base), then the memory the offsets point into, mapped as the
/// kernel image.
enum KallsymsTarget {
    static let headerSize = 25

    static let target = FuzzTarget(
        name: "kallsyms", summary: "kallsyms tables in memory: token table, names, offsets, lookups (Kallsyms)"
    ) { input in
        guard input.count >= headerSize else { return }
        func field(_ i: Int) -> UInt64 { X86_64Translation.startKernelMap &+ UInt64(input.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        let absolute = input[24] & 1 != 0
        let location = Kallsyms.Location(
            numSyms: field(0), names: field(1), tokenTable: field(2), tokenIndex: field(3),
            offsets: absolute ? nil : field(4), relativeBase: absolute ? nil : field(5),
            addresses: absolute ? field(4) : nil)
        let memory = MemoryPhysical(UnsafeRawBufferPointer(rebasing: input[headerSize...])).kernelMemory
        guard let table = FuzzLog.attempt("Kallsyms", { try Kallsyms(memory: memory, at: location) }) else { return }
        FuzzLog.note("\(table.count) symbols, first \(table.symbol(at: 0).name)")
        var sum = 0
        for s in (0..<min(table.count, 64)).map(table.symbol(at:)) {
            for delta: UInt64 in [0, 1, 0x1000] {
                if let found = table.lookup(s.address &+ delta, end: s.address &+ 0x10000) { sum &+= found.name.utf8.count }
            }
        }
        _ = table.lookup(0, end: .max)
        _ = table.lookup(.max, end: .max)
        PhysicalExercise.sink &+= UInt8(truncatingIfNeeded: sum)
    }

    /// Cuts the first `symbols` symbols' tables out of a dump into one input (the replay
    /// driver's `--kallsyms-seed`): each table copied whole, packed one after another.
    static func writeSeed(vmlinux: String, vmcore: String, out: String, symbols: Int) throws {
        let dump = try KernelDump(vmlinuxPath: vmlinux, vmcorePath: vmcore)
        guard let at = Kallsyms.Location(dump) else { throw InputError(file: vmcore, reason: "no kallsyms tables") }
        let memory = dump.memory
        let count = min(Int(try memory.u32(at.numSyms)), symbols)
        // Names: per symbol a length (one byte, or two when the first has bit 7) and tokens.
        var namesLength: UInt64 = 0
        for _ in 0..<count {
            var length = UInt64(try memory.u8(at.names &+ namesLength))
            namesLength += 1
            if length & 0x80 != 0 {
                length = (length & 0x7f) | UInt64(try memory.u8(at.names &+ namesLength)) << 7
                namesLength += 1
            }
            namesLength += length
        }
        let index = try memory.bytes(at.tokenIndex, count: 512)
        let lastToken = (0..<256).map { Int(index[2 * $0]) | Int(index[2 * $0 + 1]) << 8 }.max() ?? 0
        var tokens = try memory.bytes(at.tokenTable, count: lastToken + 256)
        if let end = tokens[lastToken...].firstIndex(of: 0) { tokens = Array(tokens[...end]) }

        var blob: [UInt8] = []
        func place(_ bytes: [UInt8]) -> UInt32 {
            while blob.count % 8 != 0 { blob.append(0) }
            defer { blob += bytes }
            return UInt32(blob.count)
        }
        var numSyms = UInt32(count)
        let numAt = place(withUnsafeBytes(of: &numSyms) { Array($0) })
        let namesAt = place(try memory.bytes(at.names, count: Int(namesLength)))
        let tableAt = place(tokens)
        let indexAt = place(index)
        let absolute = at.offsets == nil
        let addressesAt: UInt32, baseAt: UInt32
        if let offsets = at.offsets, let base = at.relativeBase {
            addressesAt = place(try memory.bytes(offsets, count: count * 4))
            baseAt = place(try memory.bytes(base, count: 8))
        } else {
            addressesAt = place(try memory.bytes(at.addresses ?? 0, count: count * 8))
            baseAt = 0
        }
        var header: [UInt8] = []
        for v in [numAt, namesAt, tableAt, indexAt, addressesAt, baseAt] { header += withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        header.append(absolute ? 1 : 0)
        // The names are read a page at a time: the memory goes on to a page boundary.
        while blob.count % 4096 != 0 { blob.append(0) }
        let data = header + blob
        guard let f = fopen(out, "wb") else { throw InputError(file: out, reason: "cannot create") }
        defer { fclose(f) }
        guard fwrite(data, 1, data.count, f) == data.count else { throw InputError(file: out, reason: "cannot write") }
    }
}
