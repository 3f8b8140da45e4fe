import ELFCore

/// The kernel's own name tables, read from the dump: `%pGg` and `%pGp` print from the
/// `{mask, name}` tables, the migrate lines index the string arrays.
public struct FlagNames: Sendable {
    public typealias Entry = (mask: UInt64, name: String)
    public let gfp: [Entry]
    public let pageFlags: [Entry]
    public let migrateReasons: [String]
    public let migrateTypes: [String]

    static let maxEntries = 512

    init(dump: KernelDump) throws {
        let types = dump.types
        let entry = try types.structType("trace_print_flags", near: "gfpflag_names")
        let mask = try entry.field("mask")
        let name = try entry.field("name")
        func table(_ symbol: String) throws -> [Entry] {
            let base = try dump.requireAddress(of: symbol)
            var out: [Entry] = []
            for i in 0..<Self.maxEntries {
                // entry.size is at most TypeLayout.maxSize: i * size cannot overflow.
                let at = base &+ UInt64(i * entry.size)
                let namePointer = try name.read(dump.memory, at: at)
                if namePointer == 0 { return out }
                out.append((try mask.read(dump.memory, at: at), try dump.memory.cString(namePointer, max: 128)))
            }
            throw InputError(file: dump.vmcorePath, reason: "\(symbol) has no terminating entry within \(Self.maxEntries)")
        }
        gfp = try table("gfpflag_names")
        pageFlags = try table("pageflag_names")
        migrateReasons = try Self.strings("migrate_reason_names", dump: dump)
        migrateTypes = try Self.strings("migratetype_names", dump: dump)
    }

    /// A `const char *const name[N]` array of the kernel, N from the DWARF (at most 512).
    static func strings(_ symbol: String, dump: KernelDump) throws -> [String] {
        let base = try dump.requireAddress(of: symbol)
        guard case .array(_, let count?) = try dump.types.variableType(symbol).resolved, count >= 0, count <= Self.maxEntries else {
            throw InputError(file: dump.kernelFile, reason: "\(symbol) is not a sized array in the \(dump.types.origin)")
        }
        return try (0..<count).map { i in
            let p = try dump.memory.u64(base &+ UInt64(i * 8))
            return p == 0 ? "" : try dump.memory.cString(p, max: 128)
        }
    }

    /// `format_flags`: names of every table entry whose whole mask is set, in table order,
    /// separated by `|`, then the leftover bits as 0x-hex.
    public static func format(_ flags: UInt64, with table: [Entry], into out: inout [UInt8]) {
        var rest = flags
        for e in table where rest != 0 {
            guard rest & e.mask == e.mask else { continue }
            out.append(contentsOf: e.name.utf8)
            rest &= ~e.mask
            if rest != 0 { out.append(UInt8(ascii: "|")) }
        }
        if rest != 0 { out.appendHex(rest) }
    }
}

extension Array where Element == UInt8 {
    /// The kernel's `%#lx`: 0x-prefixed lowercase hex, `0x0` for zero.
    @inline(__always)
    mutating func appendHex(_ v: UInt64) {
        append(UInt8(ascii: "0")); append(UInt8(ascii: "x"))
        appendHexDigits(v)
    }

    @inline(__always)
    mutating func appendHexDigits(_ v: UInt64) {
        if v == 0 { append(UInt8(ascii: "0")); return }
        var shift = (63 - v.leadingZeroBitCount) / 4 * 4
        while shift >= 0 {
            let d = UInt8((v >> UInt64(shift)) & 0xf)
            append(d < 10 ? d + 48 : d + 87)
            shift -= 4
        }
    }

    @inline(__always)
    mutating func appendDecimal(_ v: UInt64) {
        if v < 10 { append(UInt8(v) + 48); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        var x = v
        Swift.withUnsafeMutableBytes(of: &digits) { d in
            while x > 0 { d[n] = UInt8(x % 10) + 48; x /= 10; n += 1 }
            while n > 0 { n -= 1; append(d[n]) }
        }
    }

    @inline(__always)
    mutating func appendDecimal(_ v: Int64) {
        if v < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(bitPattern: 0 &- v))
        } else {
            appendDecimal(UInt64(v))
        }
    }

    @inline(__always)
    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { append(contentsOf: $0) }
    }
}
