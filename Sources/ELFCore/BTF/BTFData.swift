/// The BTF blob of a kernel (include/uapi/linux/btf.h, version 1, the format of every kernel
/// since 4.18 that has CONFIG_DEBUG_INFO_BTF; ENUM64 from 6.0), checked once as it is read:
/// the header's sections lie inside the blob and every type record's trailing data lies inside
/// the type section. After that a record's fields are read without further checks; what they
/// point to (type ids, string offsets) is checked where it is followed.
struct BTFData {
    enum Kind: UInt8 {
        case int = 1, pointer, array, structure, union, enumeration, forward, typedef, volatile, const,
             restrict, function, functionPrototype, variable, dataSection, float, declarationTag,
             typeTag, enumeration64
    }

    /// One type record: the 12-byte common part, its trailing data at `extra` in `bytes`.
    struct Record {
        let kind: Kind
        let kindFlag: Bool
        let vlen: Int
        let nameOffset: UInt32
        /// `size` for INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC; `type` for the others.
        let sizeOrType: UInt32
        let extra: Int
    }

    let bytes: [UInt8]
    let source: String
    private let stringsStart: Int
    private let stringsEnd: Int
    /// Where each type's record starts in `bytes`; type id N is entry N − 1 (id 0 is void).
    private let recordStarts: [UInt32]

    static let magic: UInt16 = 0xeb9f
    /// A distribution kernel's BTF is 5–8 MB; 256 MiB leaves room for any real one.
    static let maxBytes = 256 << 20

    var typeCount: Int { recordStarts.count }

    /// `source` names where the bytes came from, for messages.
    init(bytes: [UInt8], source: String) throws {
        func fail(_ reason: String) -> InputError { InputError(file: source, reason: "BTF: \(reason)") }
        guard bytes.count <= Self.maxBytes else { throw fail("\(bytes.count) bytes, more than any kernel's BTF") }
        guard bytes.count >= 24 else { throw fail("\(bytes.count) bytes, too short for a BTF header") }
        let magic = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        guard magic == Self.magic else {
            if magic == Self.magic.byteSwapped { throw fail("big-endian BTF, which this reader does not handle") }
            throw fail("no BTF magic 0xeB9F (found 0x\(String(magic, radix: 16)))")
        }
        guard bytes[2] == 1 else { throw fail("version \(bytes[2]), not 1") }
        func word(_ at: Int) -> UInt64 {
            UInt64(bytes[at]) | UInt64(bytes[at + 1]) << 8 | UInt64(bytes[at + 2]) << 16 | UInt64(bytes[at + 3]) << 24
        }
        let headerLength = word(4)
        let (typeOffset, typeLength, stringOffset, stringLength) = (word(8), word(12), word(16), word(20))
        let total = UInt64(bytes.count)
        // All are 32-bit: the sums below cannot overflow 64 bits.
        guard headerLength >= 24, headerLength <= total,
              headerLength + typeOffset + typeLength <= total,
              headerLength + stringOffset + stringLength <= total else {
            throw fail("header (length \(headerLength), types \(typeOffset)+\(typeLength), strings \(stringOffset)+\(stringLength)) runs past the blob's \(total) bytes")
        }
        stringsStart = Int(headerLength + stringOffset)
        stringsEnd = stringsStart + Int(stringLength)
        guard stringLength > 0, bytes[stringsStart] == 0 else { throw fail("string section does not start with the empty string") }

        var starts: [UInt32] = []
        var at = Int(headerLength + typeOffset)
        let end = at + Int(typeLength)
        while at < end {
            guard end - at >= 12 else { throw fail("type \(starts.count + 1) is cut short at the end of the type section") }
            let info = UInt32(truncatingIfNeeded: word(at + 4))
            let rawKind = UInt8((info >> 24) & 0x1f)
            guard let kind = Kind(rawValue: rawKind) else { throw fail("type \(starts.count + 1) has unknown kind \(rawKind)") }
            let length = 12 + Self.extraLength(kind, vlen: Int(info & 0xffff))
            guard end - at >= length else { throw fail("type \(starts.count + 1) runs past the end of the type section") }
            starts.append(UInt32(at))
            at += length
        }
        self.bytes = bytes
        self.source = source
        recordStarts = starts
    }

    /// Bytes after the common part: per kind, fixed or vlen entries.
    private static func extraLength(_ kind: Kind, vlen: Int) -> Int {
        switch kind {
        case .int, .variable, .declarationTag: return 4
        case .array: return 12
        case .structure, .union, .dataSection, .enumeration64: return 12 * vlen
        case .enumeration, .functionPrototype: return 8 * vlen
        default: return 0
        }
    }

    /// The record of type `id`, nil for void (0) and ids past the last type.
    func record(_ id: UInt32) -> Record? {
        guard id > 0, Int(id) <= recordStarts.count else { return nil }
        let at = Int(recordStarts[Int(id) - 1])
        let info = u32(at + 4)
        // init checked the kind and that the trailing data fits.
        return Record(kind: Kind(rawValue: UInt8((info >> 24) & 0x1f))!, kindFlag: info >> 31 != 0,
                      vlen: Int(info & 0xffff), nameOffset: u32(at), sizeOrType: u32(at + 8), extra: at + 12)
    }

    /// A little-endian word at `at`: only for offsets inside a record that init checked.
    func u32(_ at: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    /// The string at `offset` in the string section; "" when it does not lie there or is not
    /// terminated inside it.
    func string(_ offset: UInt32) -> String {
        withString(offset) { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private func withString<T>(_ offset: UInt32, _ body: (ArraySlice<UInt8>) -> T) -> T? {
        let start = stringsStart + Int(offset)
        guard Int(offset) < stringsEnd - stringsStart,
              let end = bytes[start..<stringsEnd].firstIndex(of: 0) else { return nil }
        return body(bytes[start..<end])
    }
}
