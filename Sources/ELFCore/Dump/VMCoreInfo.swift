/// The VMCOREINFO note: `KEY=value` lines the crashed kernel wrote about itself.
public struct VMCoreInfo: Sendable {
    public let entries: [String: String]

    public init(text: String) {
        var entries: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq])
            if entries[key] == nil { entries[key] = String(line[line.index(after: eq)...]) }
        }
        self.entries = entries
    }

    public subscript(key: String) -> String? { entries[key] }

    public var osRelease: String? { entries["OSRELEASE"] }
    public var pageSize: UInt64? { entries["PAGESIZE"].flatMap { UInt64($0) } }
    /// KERNELOFFSET: the KASLR slide of the kernel image (hex without 0x).
    public var kernelOffset: UInt64? { entries["KERNELOFFSET"].flatMap { UInt64($0, radix: 16) } }

    /// `SYMBOL(name)`: a runtime (KASLR-applied) address, hex without 0x.
    public func symbol(_ name: String) -> UInt64? { entries["SYMBOL(\(name))"].flatMap { UInt64($0, radix: 16) } }
    public func size(_ name: String) -> UInt64? { entries["SIZE(\(name))"].flatMap { UInt64($0) } }
    public func offset(_ name: String) -> UInt64? { entries["OFFSET(\(name))"].flatMap { UInt64($0) } }
    public func length(_ name: String) -> UInt64? { entries["LENGTH(\(name))"].flatMap { UInt64($0) } }

    /// `NUMBER(name)`: decimal, except where an architecture prints it as 0x-hex.
    public func number(_ name: String) -> Int64? {
        guard let text = entries["NUMBER(\(name))"] else { return nil }
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            return UInt64(text.dropFirst(2), radix: 16).map { Int64(bitPattern: $0) }
        }
        return Int64(text) ?? UInt64(text).map { Int64(bitPattern: $0) }
    }
}
