/// Why a read of the dumped machine's memory failed. Walkers count these as warnings and go on;
/// they are not errors of the file as a whole.
public enum MemoryFault: Error, CustomStringConvertible, Equatable {
    /// The physical address is in no range the dump holds (a hole, or past the end of RAM).
    case notInDump(physical: UInt64)
    /// The dump filtered this page out (e.g. makedumpfile -d 31).
    case excluded(physical: UInt64)
    /// The virtual address has no translation (page-table walk ended at a non-present entry).
    case unmapped(virtual: UInt64)
    /// The virtual address is not canonical or not in any region this architecture knows.
    case badAddress(virtual: UInt64)
    /// The dump holds this page but its stored bytes are damaged (a compressed page that does not
    /// decompress, a descriptor pointing past the end of the file).
    case corrupt(physical: UInt64, reason: String)

    public var description: String {
        switch self {
        case .notInDump(let p): return "physical address 0x\(String(p, radix: 16)) is not in the dump"
        case .excluded(let p): return "physical address 0x\(String(p, radix: 16)) was excluded from the dump"
        case .unmapped(let v): return "virtual address 0x\(String(v, radix: 16)) is not mapped"
        case .badAddress(let v): return "virtual address 0x\(String(v, radix: 16)) is not a kernel address"
        case .corrupt(let p, let why): return "the page at physical address 0x\(String(p, radix: 16)) is corrupt in the dump: \(why)"
        }
    }
}

/// A range of physical memory the dumped machine had.
public struct PhysicalRange: Sendable, Equatable {
    public let start: UInt64
    public let end: UInt64      // exclusive
    public init(start: UInt64, end: UInt64) { self.start = start; self.end = end }
}

/// The physical memory of a dumped machine, whatever the file format.
public protocol PhysicalMemory: AnyObject, Sendable {
    /// The file the memory comes from, for messages.
    var path: String { get }
    /// "ELF", "kdump-compressed (zlib)", ...: for `vmowner info`.
    var formatName: String { get }
    /// The machine the dump was taken of.
    var architecture: Architecture { get }
    /// The VMCOREINFO note's text, when the dump carries one.
    var vmcoreinfo: String? { get }
    /// The RAM ranges the dump describes, sorted by start.
    var ranges: [PhysicalRange] { get }
    /// Copies `buffer.count` bytes from physical address `address`.
    func read(physical address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws
    /// A pointer straight into the file for `count` bytes at `address`, when the format stores
    /// them plainly and contiguously; nil otherwise (then use `read`).
    func directPointer(physical address: UInt64, count: Int) -> UnsafeRawPointer?
    /// A pointer straight into the file at `address` and how many bytes from there on are stored
    /// plainly and contiguously; nil when none are.
    func directSpan(physical address: UInt64) -> (pointer: UnsafeRawPointer, count: UInt64)?
}
