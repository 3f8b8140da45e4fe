/// The kernel's own symbol table as it sits in the dump (kernel/kallsyms.c): compressed names,
/// addresses as offsets from `kallsyms_relative_base`. `%pS` sizes come from here: the distance
/// to the next higher address, not the ELF st_size.
public struct Kallsyms: Sendable {
    public struct Symbol: Sendable {
        public let address: UInt64
        public let name: String
        public let type: Character
    }

    /// Addresses in ascending order (kallsyms order among equal ones: the kernel picks the
    /// first), and for each the number of its kallsyms entry when the table was not sorted.
    private let addresses: [UInt64]
    private let entries: [Int32]?
    /// The compressed names as the kernel stores them, and where each entry starts (its length
    /// byte). Names are decoded only for the symbols looked up: a command prints a few hundred
    /// of a kernel's 100,000 or more.
    private let names: [UInt8]
    private let entryOffsets: [UInt32]
    private let tokens: [[UInt8]]

    public var count: Int { addresses.count }

    /// The symbol at `position` in address order.
    public func symbol(at position: Int) -> Symbol {
        let entry = entries.map { Int($0[position]) } ?? position
        let (type, name) = decode(entry)
        return Symbol(address: addresses[position], name: name, type: type)
    }

    /// The address of the symbol at `position` in address order (its name is not decoded).
    func address(at position: Int) -> UInt64 { addresses[position] }

    /// The distance from the symbol at `position` to the next higher address: an upper bound
    /// of its size; nil for the last.
    public func distanceToNext(at position: Int) -> UInt64? {
        guard position >= 0, position < addresses.count else { return nil }
        let start = addresses[position]
        var next = position + 1
        while next < addresses.count, addresses[next] == start { next += 1 }
        return next < addresses.count ? addresses[next] - start : nil
    }

    /// Where the tables sit (runtime addresses from VMCOREINFO).
    public struct Location: Sendable {
        public var numSyms: UInt64
        public var names: UInt64
        public var tokenTable: UInt64
        public var tokenIndex: UInt64
        public var offsets: UInt64?
        public var relativeBase: UInt64?
        public var addresses: UInt64?     // kernels built without base-relative kallsyms

        public init(numSyms: UInt64, names: UInt64, tokenTable: UInt64, tokenIndex: UInt64,
                    offsets: UInt64?, relativeBase: UInt64?, addresses: UInt64?) {
            self.numSyms = numSyms; self.names = names; self.tokenTable = tokenTable
            self.tokenIndex = tokenIndex; self.offsets = offsets; self.relativeBase = relativeBase
            self.addresses = addresses
        }

        /// From VMCOREINFO (6.0+) or, for older kernels, the vmlinux symbol table: the tables
        /// are ordinary symbols of the image there.
        public init?(_ dump: KernelDump) {
            self.init(address: dump.address(of:))
        }

        /// From VMCOREINFO alone (6.0+), for a dump without a vmlinux.
        init?(_ info: VMCoreInfo) {
            self.init(address: info.symbol)
        }

        private init?(address: (String) -> UInt64?) {
            guard let n = address("kallsyms_num_syms"), let names = address("kallsyms_names"),
                  let table = address("kallsyms_token_table"), let index = address("kallsyms_token_index")
            else { return nil }
            self.init(numSyms: n, names: names, tokenTable: table, tokenIndex: index,
                      offsets: address("kallsyms_offsets"), relativeBase: address("kallsyms_relative_base"),
                      addresses: address("kallsyms_addresses"))
            guard addresses != nil || (offsets != nil && relativeBase != nil) else { return nil }
        }
    }

    static let maxSymbols: UInt64 = 4_000_000
    static let maxNamesBytes = 64 << 20

    /// Reads the addresses and the compressed names, and checks that every entry's length
    /// lies inside the names (so that a later decode stays in bounds).
    public init(memory: KernelMemory, at location: Location) throws {
        let count = UInt64(try memory.u32(location.numSyms))
        guard count > 0, count <= Self.maxSymbols else {
            throw KallsymsError("kallsyms_num_syms is \(count), not a plausible symbol count")
        }
        let tokenIndex = try memory.bytes(location.tokenIndex, count: 512)
        tokens = try Self.readTokens(memory: memory, table: location.tokenTable, index: tokenIndex)
        let unsorted = try Self.readAddresses(memory: memory, location: location, count: Int(count))

        // Each entry is a length (one byte, or two when the first has its top bit set) and
        // that many token numbers; the names are read a page at a time as the walk needs them.
        var names: [UInt8] = []
        var reader = ChunkedReader(memory: memory, start: location.names, limit: Self.maxNamesBytes)
        var offsets: [UInt32] = []
        offsets.reserveCapacity(Int(count))
        var cursor = 0
        for i in 0..<Int(count) {
            offsets.append(UInt32(cursor))
            try reader.fill(&names, through: cursor)
            var length = Int(names[cursor]), header = 1
            if length & 0x80 != 0 {
                try reader.fill(&names, through: cursor + 1)
                length = (length & 0x7f) | (Int(names[cursor + 1]) << 7)
                header = 2
            }
            guard length > 0 else { throw KallsymsError("symbol \(i) has an empty name") }
            cursor += header + length
            try reader.fill(&names, through: cursor - 1)
        }
        names.removeSubrange(min(cursor, names.count)...)
        self.names = names
        entryOffsets = offsets

        // The kernel writes them sorted; a stable sort keeps alias order if a table was not.
        if zip(unsorted, unsorted.dropFirst()).allSatisfy({ $0 <= $1 }) {
            addresses = unsorted
            entries = nil
        } else {
            let order = unsorted.indices.sorted { (unsorted[$0], $0) < (unsorted[$1], $1) }
            addresses = order.map { unsorted[$0] }
            entries = order.map { Int32($0) }
        }
    }

    /// The type letter and name of kallsyms entry `entry`, expanded from its tokens.
    private func decode(_ entry: Int) -> (type: Character, name: String) {
        var expanded: [UInt8] = []
        expand(entry, into: &expanded)
        guard let type = expanded.first else { return ("?", "") }
        return (Character(Unicode.Scalar(type)), String(decoding: expanded.dropFirst(), as: UTF8.self))
    }

    /// Appends the expanded bytes of entry `entry` (its type letter, then its name).
    private func expand(_ entry: Int, into expanded: inout [UInt8]) {
        var at = Int(entryOffsets[entry])
        var length = Int(names[at])
        at += 1
        if length & 0x80 != 0 { length = (length & 0x7f) | (Int(names[at]) << 7); at += 1 }
        // init checked that the entry's bytes lie inside `names`; tokens has all 256 entries.
        for byte in names[at..<(at + length)] { expanded.append(contentsOf: tokens[Int(byte)]) }
    }

    /// Every symbol's expanded bytes (type letter, then name) in address order, one after
    /// another in `bytes`, symbol i from `starts[i]` to `starts[i + 1]`: the names decoded once,
    /// without a String each, for lookups by name.
    public func expandedInAddressOrder() -> (bytes: [UInt8], starts: [Int]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(addresses.count * 24)
        var starts = [0]
        starts.reserveCapacity(addresses.count + 1)
        for position in 0..<addresses.count {
            expand(entries.map { Int($0[position]) } ?? position, into: &bytes)
            starts.append(bytes.count)
        }
        return (bytes, starts)
    }

    private static func readTokens(memory: KernelMemory, table: UInt64, index: [UInt8]) throws -> [[UInt8]] {
        var offsets: [Int] = []
        for i in 0..<256 { offsets.append(Int(index[2 * i]) | Int(index[2 * i + 1]) << 8) }
        let span = (offsets.max() ?? 0) + 256
        let raw = try memory.bytes(table, count: span)
        return try offsets.map { start in
            guard start < raw.count, let end = raw[start...].firstIndex(of: 0) else {
                throw KallsymsError("kallsyms token table entry at \(start) is not terminated")
            }
            return Array(raw[start..<end])
        }
    }

    private static func readAddresses(memory: KernelMemory, location: Location, count: Int) throws -> [UInt64] {
        if let offsets = location.offsets, let baseAt = location.relativeBase {
            let base = try memory.u64(baseAt)
            let raw = try memory.bytes(offsets, count: count * 4)
            let values: [Int32] = (0..<count).map { i in
                raw.withUnsafeBytes { Int32(littleEndian: $0.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
            }
            // With CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86_64 SMP up to ~6.14) per-cpu symbols are
            // stored as absolute non-negative values and all others as negative offsets below
            // base−1; without it every entry is an unsigned offset above base. A negative entry
            // can only come from the first encoding.
            let absolutePerCPU = values.contains { $0 < 0 }
            return values.map { v in
                if !absolutePerCPU { return base &+ UInt64(UInt32(bitPattern: v)) }
                return v >= 0 ? UInt64(v) : base &- 1 &- UInt64(bitPattern: Int64(v))
            }
        }
        guard let addresses = location.addresses else { throw KallsymsError("no kallsyms address table") }
        let raw = try memory.bytes(addresses, count: count * 8)
        return (0..<count).map { i in raw.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) } }
    }

    /// The symbol containing `address` as the kernel's lookup finds it: the last symbol at or
    /// below it (the first of its aliases), its size up to the next higher address.
    public func lookup(_ address: UInt64, end: UInt64) -> (name: String, offset: UInt64, size: UInt64)? {
        var low = 0, high = addresses.count
        while low < high {
            let mid = (low + high) / 2
            if addresses[mid] <= address { low = mid + 1 } else { high = mid }
        }
        var i = low - 1
        guard i >= 0 else { return nil }
        let start = addresses[i]
        while i > 0, addresses[i - 1] == start { i -= 1 }
        // The last symbol ends at `end`.
        guard let size = distanceToNext(at: i) ?? (end > start ? end - start : nil) else { return nil }
        return (symbol(at: i).name, address - start, size)
    }
}

public struct KallsymsError: Error, CustomStringConvertible {
    public let description: String
    init(_ text: String) { description = text }
}

/// Reads a byte stream from kernel memory a page at a time.
struct ChunkedReader {
    let memory: KernelMemory
    var address: UInt64
    var remaining: Int

    init(memory: KernelMemory, start: UInt64, limit: Int) {
        self.memory = memory
        self.address = start
        self.remaining = limit
    }

    /// Appends the stream's bytes to `bytes` until it holds more than `index` bytes.
    mutating func fill(_ bytes: inout [UInt8], through index: Int) throws {
        while bytes.count <= index {
            guard remaining > 0 else { throw KallsymsError("kallsyms names run past \(Kallsyms.maxNamesBytes) bytes") }
            let n = min(Int(4096 - (address & 4095)), remaining)
            bytes += try memory.bytes(address, count: n)
            address &+= UInt64(n)
            remaining -= n
        }
    }
}
