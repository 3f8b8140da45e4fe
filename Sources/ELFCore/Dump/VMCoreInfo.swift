/// The VMCOREINFO note: `KEY=value` lines the crashed kernel wrote about itself. The note is
/// copied out of the crashed kernel's memory, so every value is hostile: each one vmowner uses
/// is parsed and range-checked here, once, into a typed field. A value out of range is an error
/// naming the key and the value; nothing downstream re-parses the text.
public struct VMCoreInfo: Sendable {
    /// OSRELEASE: the kernel release (utsname's 64 characters at most).
    public let osRelease: String
    /// PAGESIZE.
    public let pageSize: UInt64?
    /// KERNELOFFSET: the KASLR slide of the kernel image (any 64-bit value wraps harmlessly).
    public let kernelOffset: UInt64?
    /// NUMBER(phys_base): printed with %ld, so a large unsigned value shows as negative.
    public let physBase: UInt64?
    /// NUMBER(pgtable_l5_enabled): 0 or 1.
    public let fiveLevelPaging: Bool
    /// NUMBER(SECTION_SIZE_BITS): log2 of a memory section's bytes (x86_64: 27; arm64 up to 29).
    public let sectionSizeBits: UInt64?
    /// NUMBER(MAX_PHYSMEM_BITS): above SECTION_SIZE_BITS, at most 64.
    public let maxPhysmemBits: UInt64?
    /// SIZE(page): sizeof(struct page).
    public let pageStructSize: Int?
    /// LENGTH(zone.free_area): the number of buddy orders (NR_PAGE_ORDERS, MAX_ORDER before 6.8).
    public let buddyOrders: UInt64?
    /// LENGTH(mem_section): NR_SECTION_ROOTS.
    public let memSectionRoots: UInt64?
    /// LENGTH(node_data): MAX_NUMNODES on NUMA kernels.
    public let nodeDataLength: UInt64?
    /// NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE): a 32-bit int, printed signed.
    public let pageBuddyMapcountValue: UInt32?
    /// arm64 (arch/arm64/kernel/vmcore_info.c; crash_core.c before 6.9):
    /// NUMBER(VA_BITS), the configured virtual address size.
    public let vaBits: UInt64?
    /// NUMBER(kimage_voffset): kernel image VA minus PA (0x-hex).
    public let kimageVoffset: UInt64?
    /// NUMBER(PHYS_OFFSET): memstart_addr, the PA the linear map starts with (0x-hex; a huge
    /// u64 when negative).
    public let physOffset: UInt64?
    /// NUMBER(TCR_EL1_T1SZ): 64 minus the VA bits the kernel's tables resolve (5.9+).
    public let tcrEL1T1SZ: UInt64?
    /// NUMBER(KERNELPACMASK): the pointer-authentication bits of kernel addresses (5.7+; 0
    /// without PAC).
    public let kernelPacMask: UInt64?
    /// SYMBOL(name): runtime (KASLR-applied) addresses.
    private let symbols: [String: UInt64]
    /// Lines that could not be used, each a warning: a malformed SYMBOL() is ignored and the
    /// vmlinux's symbol used instead.
    public let warnings: [String]

    /// Ranges a kernel can have. Wider than any real kernel, narrow enough that the arithmetic
    /// built on them cannot overflow.
    static let sectionSizeBitsRange: ClosedRange<UInt64> = 13...40
    public static let pageStructSizeRange: ClosedRange<UInt64> = 16...1024
    static let buddyOrdersRange: ClosedRange<UInt64> = 1...20
    static let memSectionRootsRange: ClosedRange<UInt64> = 1...(1 << 26)
    static let nodeDataLengthRange: ClosedRange<UInt64> = 1...(1 << 12)
    /// arm64's VA sizes run from 36 (16K, two levels) to 52 bits.
    public static let vaBitsRange: ClosedRange<UInt64> = 36...52
    /// The note is a page or two; more lines than this is not a VMCOREINFO note.
    static let maxLines = 1 << 16

    /// Parses and checks the note of dump `file`.
    public init(text: String, file: String) throws {
        var entries: [String: Substring] = [:]
        var lines = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            lines += 1
            guard lines <= Self.maxLines else {
                throw InputError(file: file, reason: "VMCOREINFO has more than \(Self.maxLines) lines")
            }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq])
            if entries[key] == nil { entries[key] = line[line.index(after: eq)...] }
        }
        let parser = Parser(entries: entries, file: file)

        guard let release = entries["OSRELEASE"], !release.isEmpty else {
            throw InputError(file: file, reason: "VMCOREINFO has no OSRELEASE line")
        }
        guard release.utf8.count <= 64 else {
            throw InputError(file: file, reason: "VMCOREINFO OSRELEASE is \(release.utf8.count) bytes long; a release has at most 64")
        }
        osRelease = String(release)
        pageSize = try parser.decimal("PAGESIZE", in: 1...(1 << 30))
        kernelOffset = try parser.hex("KERNELOFFSET")
        physBase = try parser.signedDecimal("NUMBER(phys_base)").map { UInt64(bitPattern: $0) }
        fiveLevelPaging = try parser.decimal("NUMBER(pgtable_l5_enabled)", in: 0...1) == 1
        sectionSizeBits = try parser.decimal("NUMBER(SECTION_SIZE_BITS)", in: Self.sectionSizeBitsRange)
        let physBitsFloor = (sectionSizeBits ?? Self.sectionSizeBitsRange.lowerBound) + 1
        maxPhysmemBits = try parser.decimal("NUMBER(MAX_PHYSMEM_BITS)", in: physBitsFloor...64)
        pageStructSize = try parser.decimal("SIZE(page)", in: Self.pageStructSizeRange).map { Int($0) }
        buddyOrders = try parser.decimal("LENGTH(zone.free_area)", in: Self.buddyOrdersRange)
        memSectionRoots = try parser.decimal("LENGTH(mem_section)", in: Self.memSectionRootsRange)
        nodeDataLength = try parser.decimal("LENGTH(node_data)", in: Self.nodeDataLengthRange)
        pageBuddyMapcountValue = try parser.signedDecimal("NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)", in: Int64(Int32.min)...Int64(UInt32.max))
            .map { UInt32(truncatingIfNeeded: $0) }

        vaBits = try parser.decimal("NUMBER(VA_BITS)", in: Self.vaBitsRange)
        kimageVoffset = try parser.signedDecimal("NUMBER(kimage_voffset)").map { UInt64(bitPattern: $0) }
        physOffset = try parser.signedDecimal("NUMBER(PHYS_OFFSET)").map { UInt64(bitPattern: $0) }
        tcrEL1T1SZ = try parser.signedDecimal("NUMBER(TCR_EL1_T1SZ)", in: (64 - 52)...(64 - 36)).map { UInt64($0) }
        kernelPacMask = try parser.signedDecimal("NUMBER(KERNELPACMASK)").map { UInt64(bitPattern: $0) }

        var symbols: [String: UInt64] = [:]
        var warnings: [String] = []
        for (key, value) in entries where key.hasPrefix("SYMBOL(") && key.hasSuffix(")") {
            let name = String(key.dropFirst(7).dropLast())
            if let address = Parser.hexValue(value) {
                symbols[name] = address
            } else {
                warnings.append("VMCOREINFO \(key)=\(Parser.shown(value)) is not an address; the vmlinux's \(name) is used instead")
            }
        }
        self.symbols = symbols
        self.warnings = warnings.sorted()
    }

    /// `SYMBOL(name)`: a runtime (KASLR-applied) address.
    public func symbol(_ name: String) -> UInt64? { symbols[name] }

    /// Reads one key at a time, each value checked against what a kernel can have.
    private struct Parser {
        let entries: [String: Substring]
        let file: String

        func decimal(_ key: String, in range: ClosedRange<UInt64>) throws -> UInt64? {
            guard let text = entries[key] else { return nil }
            guard let value = UInt64(text), range.contains(value) else { throw outOfRange(key, text, "\(range.lowerBound)...\(range.upperBound)") }
            return value
        }

        /// A `%ld` number: any 64-bit value, negative or unsigned.
        func signedDecimal(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws -> Int64? {
            guard let text = entries[key] else { return nil }
            let value: Int64?
            if text.hasPrefix("0x") || text.hasPrefix("0X") {
                value = Self.hexValue(text.dropFirst(2)).map { Int64(bitPattern: $0) }
            } else {
                value = Int64(text) ?? UInt64(text).map { Int64(bitPattern: $0) }
            }
            guard let value, range.contains(value) else { throw outOfRange(key, text, "\(range.lowerBound)...\(range.upperBound)") }
            return value
        }

        func hex(_ key: String) throws -> UInt64? {
            guard let text = entries[key] else { return nil }
            guard let value = Self.hexValue(text) else { throw outOfRange(key, text, "a 64-bit hex number") }
            return value
        }

        static func hexValue(_ text: Substring) -> UInt64? {
            guard !text.isEmpty, text.utf8.count <= 16 else { return nil }
            return UInt64(text, radix: 16)
        }

        /// The value as it stands in the note, cut short when it is long.
        static func shown(_ text: Substring) -> String {
            text.utf8.count <= 40 ? String(text) : String(text.prefix(40)) + "..."
        }

        func outOfRange(_ key: String, _ text: Substring, _ expected: String) -> InputError {
            InputError(file: file, reason: "VMCOREINFO \(key)=\(Self.shown(text)) is not a value a kernel can have (expected \(expected))")
        }
    }
}
